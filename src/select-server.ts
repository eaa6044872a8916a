import {UsageError} from './errors.js'

/**
 * Picks the server a command talks to: `--host` (any issuer) wins over `--region` (PostHog Cloud US/EU,
 * with its public wizard app), default US.
 */

/** The built-in provider: PostHog Cloud and its public wizard app. */
export const REGIONS = {
  us: {issuer: 'https://us.posthog.com', clientId: 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM'},
  eu: {issuer: 'https://eu.posthog.com', clientId: 'bx2C5sZRN03TkdjraCcetvQFPGH6N2Y9vRLkcKEy'},
} as const
export type Region = keyof typeof REGIONS
export const DEFAULT_REGION: Region = 'us'

/** The wizard app's registered redirect ports, in the order to try them. */
export const BUILTIN_CALLBACK_PORTS: readonly number[] = [8239, 8238, 8240, 8237, 8236, 8235]
export const CALLBACK_PATH = '/callback'

/** What a command line selects: the server flags, and --account for commands that use a stored session. */
export interface ServerSelection {
  region?: string | undefined
  host?: string | undefined
  clientId?: string | undefined
  account?: string | undefined
}

export interface Server {
  /** Issuer identifier: origin plus path, no trailing slash. */
  issuer: string
  region: Region | null
  /** Explicit or built-in client id; undefined means "find one" (remembered DCR client, or register). */
  clientId: string | undefined
  /** Loopback redirect: `localhost` on the wizard app's registered ports, else 127.0.0.1 on a free port (RFC 8252). */
  redirect: {host: 'localhost' | '127.0.0.1'; ports: readonly number[]}
}

export function resolveServer(selection: ServerSelection): Server {
  if (selection.host) {
    const issuer = issuerFromHost(selection.host)
    const region = regionOfIssuer(issuer)
    if (region) return builtinServer(region, selection.clientId)
    return {issuer, region: null, clientId: selection.clientId || undefined, redirect: {host: '127.0.0.1', ports: [0]}}
  }
  const region = selection.region ?? DEFAULT_REGION
  if (!isRegion(region)) throw new UsageError(`Unknown region "${region}": use us or eu, or --host URL.`)
  return builtinServer(region, selection.clientId)
}

function builtinServer(region: Region, clientId: string | undefined): Server {
  return {
    issuer: REGIONS[region].issuer,
    region,
    clientId: clientId || REGIONS[region].clientId,
    redirect: {host: 'localhost', ports: BUILTIN_CALLBACK_PORTS},
  }
}

function isRegion(value: string): value is Region {
  return Object.hasOwn(REGIONS, value)
}

export function regionOfIssuer(issuer: string): Region | null {
  for (const [region, info] of Object.entries(REGIONS)) if (info.issuer === issuer) return region as Region
  return null
}

/** `scheme://` (RFC 3986 scheme). Spelled out in both cases: a range under the `i` flag costs V8 a quarter of a millisecond to compile, on every `onramp token`. */
const HAS_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//

/** Parses a --host value into an issuer. Plain http:// is refused except on loopback hosts: tokens would cross the network in clear. */
export function issuerFromHost(value: string): string {
  const schemeless = !HAS_SCHEME.test(value)
  if (schemeless) {
    // https:// is assumed without a scheme; a server on this machine usually speaks plain http, and a TLS error would hide why.
    const host = /^\[[^\]]*\]|^[^:/]*/.exec(value)?.[0] ?? ''
    if (host && isLoopbackHost(host)) {
      throw new UsageError(`--host "${value}" has no scheme, so https:// would be assumed: for a server on this machine pass http://${value} (or https://${value} if it speaks TLS).`)
    }
  }
  let url: URL
  try {
    url = new URL(schemeless ? `https://${value}` : value)
  } catch {
    throw new UsageError(`--host "${value}" is not a valid URL; pass e.g. https://posthog.example.com`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`--host "${value}" must be an https:// URL`)
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new UsageError(
      `Refusing plain http:// for ${url.hostname}: tokens would cross the network unencrypted. Use https:// (http:// is allowed only for loopback hosts).`,
    )
  }
  if (url.search || url.hash) throw new UsageError(`--host "${value}" must not carry a query or fragment`)
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

/** 127.0.0.0/8, localhost and [::1]: the only hosts where plain http is acceptable. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
}

export function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).hostname)
  } catch {
    return false
  }
}
