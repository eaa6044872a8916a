import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import path from 'node:path'

import * as oidc from 'openid-client'

import {NetworkError, OnrampError, UsageError} from '../errors.js'
import {writeFileAtomic} from '../fs-atomic.js'
import {assertPrivateDir, assertPrivateFile, assertStoredFileSize, ensurePrivateDir, MAX_STORED_FILE_BYTES, UntrustedPathError} from '../fs-trust.js'
import {isNetworkFailure, onrampErrorIn, parseRetryAfter, serverUnreachable, type Fetch} from '../http.js'
import type {Logger} from '../log.js'
import {isLoopbackUrl} from '../select-server.js'
import {serverText} from '../terminal-text.js'

/**
 * Authorization server metadata discovery: RFC 8414 section 3 first, OpenID Connect Discovery 1.0 as
 * the fallback, both through openid-client (which checks that `issuer` matches, RFC 8414 section 3.3).
 * The document is cached per issuer for its HTTP cache lifetime (1 h when none) so repeat runs cost
 * no request.
 */
export type ServerMetadata = oidc.ServerMetadata & {
  posthog_region?: string
  posthog_base_url?: string
  authorization_response_iss_parameter_supported?: boolean
}

export interface Discovered {
  issuer: string
  metadata: ServerMetadata
  fromCache: boolean
}

/** The part of Deps discovery uses (structural, so flows pass their Deps as-is). */
export interface DiscoveryDeps {
  http: Fetch
  logger: Logger
  now: () => Date
  paths: {cache: string}
}

const DEFAULT_TTL_MS = 60 * 60 * 1000
/** Placeholder client id: discovery needs none, but openid-client's Configuration wants one. */
const DISCOVERY_CLIENT_ID = 'onramp-discovery'

interface CacheEntry {
  issuer: string
  fetched_at: string
  expires_at: string
  metadata: ServerMetadata
}

export async function discover(deps: DiscoveryDeps, issuer: string): Promise<Discovered> {
  const cached = readCache(deps, issuer)
  if (cached) {
    deps.logger.event('discovery.cache_hit', {issuer, expires_at: cached.expires_at}, 'debug')
    checkEndpointSchemes(issuer, cached.metadata)
    return {issuer, metadata: cached.metadata, fromCache: true}
  }
  let ttlMs = DEFAULT_TTL_MS
  const recordingFetch: Fetch = async (input, init) => {
    const response = await deps.http(input, init)
    ttlMs = cacheLifetime(response.headers.get('cache-control')) ?? DEFAULT_TTL_MS
    return response
  }
  const metadata = await discoverWithFallback(recordingFetch, issuer)
  checkEndpointSchemes(issuer, metadata)
  await writeCache(deps, {issuer, metadata, ttlMs})
  return {issuer, metadata, fromCache: false}
}

async function discoverWithFallback(fetch: Fetch, issuer: string): Promise<ServerMetadata> {
  const options = (algorithm: 'oauth2' | 'oidc'): oidc.DiscoveryRequestOptions => ({
    algorithm,
    [oidc.customFetch]: fetch as oidc.CustomFetch,
    ...(isLoopbackUrl(issuer) ? {execute: [oidc.allowInsecureRequests]} : {}),
  })
  let firstError: unknown
  for (const algorithm of ['oauth2', 'oidc'] as const) {
    try {
      const config = await oidc.discovery(new URL(issuer), DISCOVERY_CLIENT_ID, undefined, oidc.None(), options(algorithm))
      return config.serverMetadata() as ServerMetadata
    } catch (error) {
      // A network failure, a busy server or our own limit will not be cured by the other well-known path.
      const status = httpStatusOf(error)
      if (isNetworkFailure(error) || onrampErrorIn(error) || (status !== undefined && (status >= 500 || status === 429))) throw discoveryError(issuer, error)
      firstError ??= error
    }
  }
  throw discoveryError(issuer, firstError)
}

/** The metadata keys naming places onramp sends requests (or the browser, or keys from): RFC 8414 section 2, OIDC Discovery 3. */
const ENDPOINT_KEYS = [
  'authorization_endpoint',
  'token_endpoint',
  'revocation_endpoint',
  'userinfo_endpoint',
  'registration_endpoint',
  'introspection_endpoint',
  'jwks_uri',
  'pushed_authorization_request_endpoint',
  'device_authorization_endpoint',
  'end_session_endpoint',
] as const

/**
 * Plain http:// only for loopback endpoints (client.md "Security rules"): a loopback issuer must not be
 * able to send the refresh token to `http://tokens.evil.example`. Checked before any request to them,
 * on fresh and cached metadata alike.
 */
export function checkEndpointSchemes(issuer: string, metadata: ServerMetadata): void {
  for (const key of ENDPOINT_KEYS) {
    const value = (metadata as Record<string, unknown>)[key]
    if (value === undefined || value === null) continue
    let url: URL | undefined
    try {
      url = new URL(String(value))
    } catch {
      url = undefined
    }
    const allowed = url !== undefined && (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackUrl(url.href)))
    if (!allowed) {
      throw new UsageError(
        `The metadata of ${issuer} names ${key} ${serverText(value)}, which is not an https:// URL (plain http:// is allowed only for loopback hosts), so onramp sends nothing there. ` +
          `Check --host; if it is right, the server's admins must publish https:// endpoints.`,
        {code: 'insecure_endpoint'},
      )
    }
  }
}

function discoveryError(issuer: string, error: unknown): OnrampError {
  const ours = onrampErrorIn(error)
  if (ours) return ours
  if (isNetworkFailure(error)) return serverUnreachable(issuer, error)
  const detail = serverText(error instanceof Error ? error.message : String(error))
  const cause = (error as {cause?: unknown})?.cause
  const status = cause instanceof Response ? cause.status : undefined
  if (status === 429 && cause instanceof Response) {
    const waitMs = parseRetryAfter(cause.headers.get('retry-after'))
    const wait = waitMs === undefined ? 'wait a minute' : `wait ${Math.max(1, Math.ceil(waitMs / 1000))} s`
    return new NetworkError(`${issuer} is rate-limiting requests (HTTP 429 on its metadata); ${wait} and try again.`, {code: 'rate_limited', cause: error})
  }
  if (status !== undefined && status >= 500) {
    return new NetworkError(`${issuer} is unavailable (HTTP ${status}); try again in a minute.`, {code: 'server_unavailable', cause: error})
  }
  if (/issuer/i.test(detail)) {
    const named = namedIssuer(error)
    const tried = `tried ${wellKnownUrls(issuer).join(' and ')}, which must name ${issuer}`
    if (named === undefined) {
      return new UsageError(`The metadata at ${issuer} names a different issuer (${tried}; ${detail}): pass the exact issuer URL as --host.`, {code: 'issuer_mismatch', cause: error})
    }
    const shown = serverText(named)
    return new UsageError(
      `The metadata at ${issuer} names a different issuer, ${shown} (${tried}). If that is the server you meant, pass --host ${shown}.`,
      {code: 'issuer_mismatch', cause: error, nextCommand: `onramp login --host ${shown}`},
    )
  }
  return new UsageError(
    `${issuer} publishes no OAuth metadata (tried /.well-known/oauth-authorization-server and /.well-known/openid-configuration: ${detail}). Is --host right?`,
    {code: 'discovery_failed', cause: error},
  )
}

/** The issuer a metadata document named, read from oauth4webapi's comparison error (somewhere in the cause chain). */
function namedIssuer(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; current = (current as {cause?: unknown}).cause, depth++) {
    const detail = current as {attribute?: unknown; body?: {issuer?: unknown}}
    if (detail.attribute === 'issuer' && typeof detail.body?.issuer === 'string') return detail.body.issuer
  }
  return undefined
}

/** The two well-known metadata URLs discovery tries for an issuer (RFC 8414 path insertion, OIDC path appending). */
function wellKnownUrls(issuer: string): string[] {
  const url = new URL(issuer)
  const pathPart = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  return [`${url.origin}/.well-known/oauth-authorization-server${pathPart}`, `${url.origin}${pathPart}/.well-known/openid-configuration`]
}

/** The longest a metadata document is trusted without asking again, whatever max-age says. */
export const MAX_CACHE_LIFETIME_MS = 24 * 60 * 60 * 1000

/** Cache-Control max-age (RFC 9111 5.2.2.1), at most a day; `no-store`/`no-cache` mean zero. */
export function cacheLifetime(cacheControl: string | null): number | undefined {
  if (!cacheControl) return undefined
  if (/\b(no-store|no-cache)\b/i.test(cacheControl)) return 0
  const match = /\bmax-age=(\d+)/i.exec(cacheControl)
  // A huge max-age would overflow the expiry date (RangeError after the exchange): clamp it.
  return match ? Math.min(Number(match[1]) * 1000, MAX_CACHE_LIFETIME_MS) : undefined
}

function httpStatusOf(error: unknown): number | undefined {
  const cause = (error as {cause?: unknown})?.cause
  return cause instanceof Response ? cause.status : undefined
}

function cacheFile(cacheDir: string, issuer: string): string {
  const name = createHash('sha256').update(issuer).digest('hex').slice(0, 32)
  return path.join(cacheDir, 'discovery', `${name}.json`)
}

function readCache(deps: DiscoveryDeps, issuer: string): CacheEntry | undefined {
  const file = cacheFile(deps.paths.cache, issuer)
  // A cache others can write could point token_endpoint at them: refused, never used (fs-trust.ts).
  assertPrivateDir(deps.paths.cache)
  assertPrivateDir(path.dirname(file))
  if (!assertPrivateFile(file)) return undefined
  assertStoredFileSize(file, MAX_STORED_FILE_BYTES.small, `Delete it (rm "${file}"): it is a cache, onramp fetches the server's metadata again.`)
  try {
    const entry = JSON.parse(readFileSync(file, 'utf8')) as CacheEntry
    if (entry.issuer !== issuer || typeof entry.metadata !== 'object') return undefined
    if (Date.parse(entry.expires_at) <= deps.now().getTime()) return undefined
    return entry
  } catch {
    return undefined // missing or unreadable cache: just fetch again
  }
}

async function writeCache(deps: DiscoveryDeps, {issuer, metadata, ttlMs}: {issuer: string; metadata: ServerMetadata; ttlMs: number}): Promise<void> {
  if (ttlMs <= 0) return
  const file = cacheFile(deps.paths.cache, issuer)
  const now = deps.now()
  const entry: CacheEntry = {issuer, fetched_at: now.toISOString(), expires_at: new Date(now.getTime() + ttlMs).toISOString(), metadata}
  try {
    ensurePrivateDir(deps.paths.cache)
    ensurePrivateDir(path.dirname(file))
    await writeFileAtomic(file, JSON.stringify(entry, null, 2))
  } catch (error) {
    if (error instanceof UntrustedPathError) throw error
    deps.logger.event('discovery.cache_write_failed', {issuer, error: String(error)}, 'debug')
  }
}
