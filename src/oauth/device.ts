import {NetworkError, NotLoggedInError, OnrampError, UnexpectedError} from '../errors.js'
import {isNetworkFailure, parseRetryAfter, serverUnreachable, type Fetch} from '../http.js'
import {rememberSecret} from '../redact.js'
import {serverText} from '../terminal-text.js'
import {ScopeRefusal, type TokenSet} from './client.js'
import type {Discovered} from './discovery.js'
import {mapOAuthErrorInfo} from './errors.js'

/**
 * The device authorization grant (RFC 8628) as protocol steps over `deps.http` (so every request has the
 * usual deadline and body limit), each a request and a pure `process…` half that takes a `Response`:
 * the device authorization request (section 3.1/3.2) and the polling of the token endpoint (3.4/3.5):
 * `interval` (default 5 s), `slow_down` adds 5 s for this and every later request, `authorization_pending`
 * keeps waiting, `access_denied` and `expired_token` end it (exit 3), and so does the deadline from
 * `expires_in`. The waits end at once when the caller's signal aborts (Ctrl-C).
 *
 * openid-client 6 has the same two functions, but its waits check an abort only every 5 s, so Ctrl-C
 * would leave the process waiting; and its deadline replaces the caller's signal instead of adding to it.
 */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

/** RFC 8628 section 3.2; `device_code` is a secret (redacted from every output). */
export interface DeviceAuthorization {
  device_code: string
  user_code: string
  verification_uri: string
  verification_uri_complete: string | undefined
  /** Seconds the codes stay valid. */
  expires_in: number
  /** Seconds between polls. */
  interval: number
}

export interface DeviceContext {
  issuer: string
  clientId: string
}

/** RFC 8628 section 3.5: when the server states no interval. */
export const DEFAULT_INTERVAL_SECONDS = 5
/** RFC 8628 section 3.5: what `slow_down` adds to the interval. */
export const SLOW_DOWN_SECONDS = 5
/** A device code lives this long at most here, whatever the server says (the --timeout ceiling). */
const MAX_EXPIRES_IN_SECONDS = 86_400
/** Network failures in a row tolerated while polling (each doubles the wait, section 3.5), before exit 6. */
const MAX_NETWORK_FAILURES = 3

/** Whether the server's metadata offers the grant (RFC 8628 section 4). */
export function deviceAuthorizationEndpoint(discovered: Discovered): string | undefined {
  const endpoint = discovered.metadata.device_authorization_endpoint
  return typeof endpoint === 'string' && endpoint !== '' ? endpoint : undefined
}

/** Section 3.1: a public client asks for a device code and a user code. */
export async function requestDeviceAuthorization(
  http: Fetch,
  {discovered, clientId, scopes}: {discovered: Discovered; clientId: string; scopes: readonly string[]},
): Promise<DeviceAuthorization> {
  const endpoint = deviceAuthorizationEndpoint(discovered)
  const context = {issuer: discovered.issuer, clientId}
  if (!endpoint) throw new UnexpectedError(`${discovered.issuer} does not offer the device grant.`, {code: 'device_grant_unsupported'})
  const response = await send(http, context, endpoint, {client_id: clientId, scope: scopes.join(' ')})
  return processDeviceAuthorizationResponse(response, context)
}

/** Section 3.2, tolerant of what is optional and strict about what the flow needs. */
export async function processDeviceAuthorizationResponse(response: Response, context: DeviceContext): Promise<DeviceAuthorization> {
  const body = await readJson(response)
  if (response.status !== 200) throw refusal(response, body, context, 'device')
  const text = (field: string): string => {
    const value = body?.[field]
    if (typeof value !== 'string' || value === '') throw malformed(context, `no ${field}`)
    return value
  }
  const device_code = text('device_code')
  rememberSecret(device_code)
  const user_code = text('user_code')
  const verification_uri = httpUrl(text('verification_uri'), context, 'verification_uri')
  const complete = typeof body?.verification_uri_complete === 'string' ? body.verification_uri_complete : undefined
  const expires = Number(body?.expires_in)
  if (!Number.isFinite(expires) || expires <= 0) throw malformed(context, 'no usable expires_in')
  const interval = body?.interval === undefined ? DEFAULT_INTERVAL_SECONDS : Number(body.interval)
  if (!Number.isFinite(interval) || interval < 0) throw malformed(context, 'an unusable interval')
  return {
    device_code,
    // Shown to a person: a server's escape sequences must not reach the terminal.
    user_code: serverText(user_code, 64),
    verification_uri,
    verification_uri_complete: complete ? httpUrl(complete, context, 'verification_uri_complete') : undefined,
    expires_in: Math.min(expires, MAX_EXPIRES_IN_SECONDS),
    interval: Math.max(interval, 1),
  }
}

/** One answer of the token endpoint to a poll (section 3.5). */
export type PollOutcome =
  | {kind: 'tokens'; tokens: TokenSet}
  | {kind: 'pending'}
  | {kind: 'slow_down'}
  /** A 503/429 with Retry-After: wait that long (ms), then poll again. */
  | {kind: 'retry_after'; waitMs: number}

/** Sections 3.5 and 5.2 of RFC 6749: tokens, keep waiting, slow down, or an error that ends the login. */
export async function processDevicePollResponse(response: Response, context: DeviceContext): Promise<PollOutcome> {
  const body = await readJson(response)
  if (response.status === 200) {
    const accessToken = body?.access_token
    if (typeof accessToken !== 'string' || accessToken === '') throw malformed(context, 'a token response without access_token')
    const refreshToken = typeof body?.refresh_token === 'string' && body.refresh_token !== '' ? body.refresh_token : null
    for (const secret of [accessToken, refreshToken, body?.id_token]) rememberSecret(typeof secret === 'string' ? secret : undefined)
    const expiresIn = Number(body?.expires_in)
    return {
      kind: 'tokens',
      tokens: {
        access_token: accessToken,
        refresh_token: refreshToken,
        expires_in: body?.expires_in === undefined || !Number.isFinite(expiresIn) ? undefined : expiresIn,
        scope: typeof body?.scope === 'string' ? body.scope : undefined,
        // An ID token from this grant is not validated here, so its claims are not trusted: the user comes from userinfo.
        idTokenClaims: undefined,
      },
    }
  }
  const error = typeof body?.error === 'string' ? body.error : undefined
  if (error === 'authorization_pending') return {kind: 'pending'}
  if (error === 'slow_down') return {kind: 'slow_down'}
  const retryAfter = parseRetryAfter(response.headers.get('retry-after'))
  if ((response.status === 503 || response.status === 429) && retryAfter !== undefined) return {kind: 'retry_after', waitMs: retryAfter}
  throw refusal(response, body, context, 'poll')
}

export interface PollOptions {
  /** Aborts the wait at once (Ctrl-C); its reason is thrown. */
  signal?: AbortSignal | undefined
  /** Injected by tests; real time by default. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  /** Monotonic milliseconds, for the deadline. */
  clock?: () => number
  /** Told each time the interval grows (slow_down), for --verbose. */
  onSlowDown?: (intervalSeconds: number) => void
  /**
   * login's --timeout: the wait for the approval ends after this many seconds even when the code would live
   * longer (exit 3, `login_timeout`); the code's own `expires_in` still ends it first when that is shorter.
   */
  timeoutSeconds?: number | undefined
}

/**
 * Polls until the user decides, the code expires or the caller's --timeout runs out: waits `interval`
 * before each request (section 3.5), never past the deadline (the sooner of `expires_in` and
 * `timeoutSeconds`). Returns the tokens; throws exit 3 on access_denied, expired_token (the server's or the
 * code's deadline) and login_timeout (--timeout), exit 6 when the server stays unreachable.
 */
export async function pollDeviceGrant(
  http: Fetch,
  {discovered, clientId, authorization}: {discovered: Discovered; clientId: string; authorization: DeviceAuthorization},
  options: PollOptions = {},
): Promise<TokenSet> {
  const context = {issuer: discovered.issuer, clientId}
  const clock = options.clock ?? (() => performance.now())
  const sleep = options.sleep ?? abortableSleep
  // The sooner of the code's life and --timeout; which one it is decides what the person is told.
  const byTimeout = options.timeoutSeconds !== undefined && options.timeoutSeconds < authorization.expires_in
  const deadline = clock() + (byTimeout ? options.timeoutSeconds! : authorization.expires_in) * 1000
  const pastDeadline = () => (byTimeout ? waitTimedOut(options.timeoutSeconds!) : expiredCode(context, 'deadline'))
  // One controller for the caller's abort, referenced for the whole poll (never AbortSignal.timeout in any()).
  const controller = new AbortController()
  const onAbort = () => controller.abort(options.signal?.reason)
  if (options.signal?.aborted) onAbort()
  else options.signal?.addEventListener('abort', onAbort, {once: true})
  let interval = authorization.interval
  let waitMs = interval * 1000
  let failures = 0
  try {
    for (;;) {
      const left = deadline - clock()
      if (left <= 0) throw pastDeadline()
      await sleep(Math.min(waitMs, left), controller.signal)
      if (controller.signal.aborted) throw controller.signal.reason
      if (deadline - clock() <= 0) throw pastDeadline()
      let response: Response
      try {
        response = await http(tokenEndpoint(discovered), {
          method: 'POST',
          headers: {'content-type': 'application/x-www-form-urlencoded', accept: 'application/json'},
          body: new URLSearchParams({grant_type: DEVICE_CODE_GRANT, device_code: authorization.device_code, client_id: clientId}),
          signal: controller.signal,
        })
      } catch (error) {
        if (controller.signal.aborted) throw controller.signal.reason
        if (error instanceof OnrampError || !isNetworkFailure(error) || ++failures >= MAX_NETWORK_FAILURES) throw error instanceof OnrampError ? error : serverUnreachable(context.issuer, error)
        // Section 3.5: on a connection timeout, back off before polling again.
        waitMs = interval * 1000 * 2 ** failures
        continue
      }
      failures = 0
      const outcome = await processDevicePollResponse(response, context)
      switch (outcome.kind) {
        case 'tokens':
          return outcome.tokens
        case 'slow_down':
          interval += SLOW_DOWN_SECONDS
          options.onSlowDown?.(interval)
          waitMs = interval * 1000
          break
        case 'retry_after':
          waitMs = Math.max(outcome.waitMs, interval * 1000)
          break
        case 'pending':
          waitMs = interval * 1000
          break
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
  }
}

/** Waits `ms`, or less when `signal` aborts (then resolves at once; the caller checks the signal). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, {once: true})
  })
}

function tokenEndpoint(discovered: Discovered): string {
  const endpoint = discovered.metadata.token_endpoint
  if (typeof endpoint !== 'string' || !endpoint) throw new UnexpectedError(`${discovered.issuer}'s metadata names no token_endpoint.`, {code: 'discovery_invalid'})
  return endpoint
}

async function send(http: Fetch, context: DeviceContext, url: string, form: Record<string, string>): Promise<Response> {
  try {
    return await http(url, {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded', accept: 'application/json'}, body: new URLSearchParams(form)})
  } catch (error) {
    if (error instanceof OnrampError) throw error
    throw serverUnreachable(context.issuer, error)
  }
}

async function readJson(response: Response): Promise<Record<string, unknown> | undefined> {
  const text = await response.text()
  if (!text.trim()) return undefined
  try {
    const parsed: unknown = JSON.parse(text)
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** An error answer: RFC 6749 section 5.2 when it carries one, else its status named. */
function refusal(response: Response, body: Record<string, unknown> | undefined, context: DeviceContext, step: 'device' | 'poll'): OnrampError | ScopeRefusal {
  const error = typeof body?.error === 'string' ? body.error : undefined
  const description = typeof body?.error_description === 'string' ? body.error_description : undefined
  if (error === 'invalid_scope') return new ScopeRefusal(description)
  if (error === 'expired_token') return expiredCode(context, 'server')
  if (error === 'access_denied') {
    const said = description ? `${serverText(error)}: ${serverText(description)}` : serverText(error)
    return new NotLoggedInError(`The login was denied on the verification page (${said}); nothing was stored. Run onramp login --device again to retry.`, {
      code: 'access_denied',
      nextCommand: 'onramp login --device',
    })
  }
  if (error) return mapOAuthErrorInfo({error, description, status: response.status}, {step: step === 'device' ? 'device' : 'token', issuer: context.issuer, clientId: context.clientId})
  if (response.status >= 500 || response.status === 429) {
    return new NetworkError(`${context.issuer} answered HTTP ${response.status} to the device grant; try again in a minute.`, {code: 'server_unavailable'})
  }
  const what = step === 'device' ? 'the device authorization request' : 'a device grant poll'
  return new UnexpectedError(`${context.issuer} refused ${what} with HTTP ${response.status} and no OAuth error in the answer. Check that client ${context.clientId} may use the device grant there.`, {
    code: 'device_grant_failed',
  })
}

function expiredCode(context: DeviceContext, by: 'server' | 'deadline'): NotLoggedInError {
  const why = by === 'server' ? `${context.issuer} says the code has expired` : 'the code expired'
  return new NotLoggedInError(`The device code was not approved in time (${why}); nothing was stored. Run onramp login --device again for a new code.`, {
    code: 'expired_token',
    nextCommand: 'onramp login --device',
  })
}

function waitTimedOut(timeoutSeconds: number): NotLoggedInError {
  return new NotLoggedInError(
    `No approval arrived within ${timeoutSeconds} s (--timeout); nothing was stored. Run onramp login --device again for a new code (--timeout sets the wait, at most 86400 s).`,
    {code: 'login_timeout', nextCommand: 'onramp login --device'},
  )
}

function malformed(context: DeviceContext, what: string): UnexpectedError {
  return new UnexpectedError(`${context.issuer} answered the device grant with ${what} (RFC 8628 section 3.2).`, {code: 'device_grant_failed'})
}

/** A URL to show and open: http(s) only, so a server cannot make the opener run something else. */
function httpUrl(value: string, context: DeviceContext, field: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw malformed(context, `a ${field} that is not a URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw malformed(context, `a ${field} that is not http(s)`)
  return serverText(url.href, 2048)
}
