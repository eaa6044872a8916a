
import {NetworkError, OnrampError} from './errors.js'
import type {Logger} from './log.js'
import {serverText} from './terminal-text.js'
import {certificateProblem, describeCertificateProblem} from './tls.js'

/**
 * The one HTTP client: global `fetch` (so MSW can intercept it) with a User-Agent, one hard deadline
 * per request that covers the body read too, a size limit on every body, and retries where they are safe.
 *
 * Retries (README "Network"): a request is sent again only when sending it twice cannot hurt: GET and the
 * other idempotent methods (discovery, metadata, `@me`, resource reads), and a POST its caller marks
 * `retry: 'safe'` (the OAuth refresh, whose server keeps the old refresh token valid for a grace period).
 * They are retried on network errors and on 405/429/500/502/503/504, with a short backoff (250 ms, 500 ms)
 * or the server's Retry-After when it is short. Every other POST (an authorization code, a provisioning
 * code or refresh token, an account request) is sent exactly once: its first attempt may have been
 * processed. A POST never follows a redirect to another origin, and follows 307/308 on its own origin only.
 */
export type HttpInit = RequestInit & {
  /** 'safe': this POST may be sent again (see above). GET, HEAD, OPTIONS, PUT and DELETE always may. */
  retry?: 'safe'
}
export type Fetch = (input: string | URL | Request, init?: HttpInit) => Promise<Response>

export interface HttpOptions {
  userAgent: string
  logger?: Logger
  /** One deadline for the whole request: every attempt, the waits between them, and reading the body. */
  timeoutMs?: number
  retries?: number
  /** Longest Retry-After we are willing to wait; longer ones fail with the server's answer. */
  maxRetryAfterMs?: number
  /** Largest body read; a larger one fails (ResponseTooLargeError) without being held in memory. */
  maxBodyBytes?: number
  sleep?: (ms: number) => Promise<void>
  fetch?: Fetch
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])
/** Answers worth asking again for a safe request: load balancers' and gateways' passing failures (wizard #1193). */
export const RETRIED_STATUSES: ReadonlySet<number> = new Set([405, 429, 500, 502, 503, 504])
/** Redirects a POST may follow (same origin only): the ones that keep method and body. */
const BODY_KEEPING_REDIRECTS = new Set([307, 308])
const MAX_REDIRECTS = 5
/** Metadata, token and user documents are a few KiB; 1 MiB leaves room and bounds memory. */
export const MAX_BODY_BYTES = 1024 * 1024

/**
 * The per-address connection attempt timeout (Node's happy eyeballs, `autoSelectFamilyAttemptTimeout`).
 * Node 20 defaults to 250 ms, shorter than a TCP handshake from Australia to PostHog EU: every address
 * was abandoned in turn and the login failed (PostHog/wizard PR #926). 2 s covers one lost SYN
 * retransmitted after 1 s, and still falls back to the other family quickly when one is broken.
 */
export const CONNECT_ATTEMPT_TIMEOUT_MS = 2000

/** Sets Node's default per-address attempt timeout (global fetch and undici's proxy agent both use it). */
export function configureConnections(env: NodeJS.ProcessEnv = process.env): number {
  const wanted = Number(env.ONRAMP_CONNECT_ATTEMPT_TIMEOUT_MS)
  // At least 1 s, whatever the variable says: below that the far regions fail again.
  const timeout = Number.isFinite(wanted) && wanted >= 1000 ? Math.min(wanted, 60_000) : CONNECT_ATTEMPT_TIMEOUT_MS
  // node:net (with the stream modules) loads here, at the first request, not at start-up: `onramp token`
  // answering from its store never connects.
  const net = process.getBuiltinModule('node:net')
  if (net.getDefaultAutoSelectFamilyAttemptTimeout() < timeout) net.setDefaultAutoSelectFamilyAttemptTimeout(timeout)
  return net.getDefaultAutoSelectFamilyAttemptTimeout()
}

/** A body larger than the limit: the server misbehaves (or --host points at something else). */
export class ResponseTooLargeError extends NetworkError {
  constructor(url: string, limit: number) {
    super(`The answer from ${stripQuery(url)} is larger than ${formatBytes(limit)}, so onramp stopped reading it. Check --host; if it is right, the server is misbehaving.`, {
      code: 'response_too_large',
    })
  }
}

export function createHttp(options: HttpOptions): Fetch {
  const {
    userAgent,
    logger,
    timeoutMs = 15_000,
    retries = 2,
    maxRetryAfterMs = 10_000,
    maxBodyBytes = MAX_BODY_BYTES,
    sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  } = options
  // Resolved per call so a fetch replaced after start-up (MSW in tests) is still used.
  const baseFetch: Fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  let configured = false

  return async function http(input, init = {}) {
    if (!configured) configured = (configureConnections(), true)
    const {retry, ...requestInit} = init
    const request = new Request(input, requestInit)
    const method = request.method.toUpperCase()
    const safe = IDEMPOTENT.has(method) || retry === 'safe'
    const attempts = safe ? retries + 1 : 1
    const body = method === 'GET' || method === 'HEAD' ? undefined : await request.arrayBuffer()
    const headers = new Headers(request.headers)
    // Always ours: openid-client would otherwise announce itself (oauth4webapi/x.y).
    headers.set('user-agent', userAgent)
    const deadline = startDeadline(timeoutMs, init.signal ?? undefined)
    // A POST's redirects are followed here (same origin only), never by fetch: it would carry the code elsewhere.
    const manual = body !== undefined && request.redirect === 'follow'
    const send = async (url: string): Promise<Response> => {
      // A fresh copy each time: fetch transfers (detaches) the ArrayBuffer it is given.
      const response = await baseFetch(url, {method, headers, body: body?.slice(0), redirect: manual ? 'manual' : request.redirect, signal: deadline.signal})
      return manual ? followSameOrigin(response, url) : response
    }
    const followSameOrigin = async (response: Response, from: string, hops = 0): Promise<Response> => {
      if (response.status < 300 || response.status > 399 || response.status === 304) return response
      const location = response.headers.get('location')
      if (location === null) return response
      const target = new URL(location, from)
      response.body?.cancel().catch(() => {})
      if (target.origin !== new URL(from).origin || !BODY_KEEPING_REDIRECTS.has(response.status) || hops >= MAX_REDIRECTS) {
        throw new NetworkError(
          `${new URL(from).host} answered a ${method} with a redirect (HTTP ${response.status}) to ${serverText(stripQuery(target.href))}; onramp does not send codes or tokens on to ` +
            `${target.origin === new URL(from).origin ? 'a redirect that drops the request body' : 'another origin'}, so nothing was sent there. Check --host; if it is right, the server or a proxy in the way is misconfigured.`,
          {code: 'redirect_refused'},
        )
      }
      logger?.event('http.redirect', {method, from: stripQuery(from), to: stripQuery(target.href), status: response.status}, 'debug')
      const next = await baseFetch(target.href, {method, headers, body: body?.slice(0), redirect: 'manual', signal: deadline.signal})
      return followSameOrigin(next, target.href, hops + 1)
    }

    try {
      for (let attempt = 1; ; attempt++) {
        const started = Date.now()
        try {
          const response = await send(request.url)
          logger?.event('http.response', {method, url: stripQuery(request.url), status: response.status, ms: Date.now() - started, attempt}, 'debug')
          const challenged = await firewallAnswer(response, request.url)
          if (challenged) throw challenged
          if (attempt < attempts && RETRIED_STATUSES.has(response.status)) {
            const retryAfter = parseRetryAfter(response.headers.get('retry-after'))
            const wait = retryAfter ?? backoff(attempt)
            // A 429 without a readable Retry-After is not worth a blind second try.
            if ((response.status !== 429 || retryAfter !== undefined) && wait <= maxRetryAfterMs && wait < deadline.remainingMs()) {
              // Not awaited: some stream implementations (MSW's) never settle a cancel.
              response.body?.cancel().catch(() => {})
              logger?.event('http.retry', {method, url: stripQuery(request.url), status: response.status, wait_ms: wait, attempt}, 'debug')
              await sleep(wait)
              continue
            }
          }
          return limitBody(response, {url: request.url, maxBytes: maxBodyBytes, deadline})
        } catch (error) {
          if (error instanceof OnrampError) throw error // ours (too large, a firewall, a refused redirect): the same again would be too
          logger?.event('http.error', {method, url: stripQuery(request.url), error: describeFetchError(error), attempt}, 'debug')
          if (deadline.signal.aborted || attempt >= attempts) throw deadline.signal.aborted ? deadline.signal.reason : error
          await sleep(backoff(attempt))
        }
      }
    } catch (error) {
      deadline.clear()
      throw error
    }
  }
}

/** The short backoff between safe retries: 250 ms, then 500 ms. */
function backoff(attempt: number): number {
  return 250 * 2 ** (attempt - 1)
}

/**
 * A firewall or bot challenge (Cloudflare's `cf-mitigated: challenge`, a WAF's block page) answering in
 * the server's place: HTML where every onramp request expects JSON, usually 403 or 503. Named as such
 * (exit 6) instead of "a malformed answer", with the fix. Returns undefined for anything else; the
 * response is left readable.
 */
async function firewallAnswer(response: Response, url: string): Promise<NetworkError | undefined> {
  const mitigated = response.headers.get('cf-mitigated')
  const type = response.headers.get('content-type') ?? ''
  const html = /text\/html|application\/xhtml/i.test(type)
  let why: string | undefined
  if (mitigated !== null) why = `cf-mitigated: ${serverText(mitigated, 40)}`
  else if (html && (response.status === 403 || response.status === 503 || response.status === 429 || response.status === 200)) {
    const text = await response.clone().text().catch(() => '')
    if (response.status === 403 || CHALLENGE_MARKERS.test(text.slice(0, 64 * 1024))) why = `an HTML page where JSON was expected`
  }
  if (why === undefined) return undefined
  response.body?.cancel().catch(() => {})
  const host = new URL(url).host
  return new NetworkError(
    `a firewall or bot challenge at ${host} answered instead of ${serverName(url)} (HTTP ${response.status}, ${why}), so onramp could not talk to the server. ` +
      `Networks of VPS, VPN and office addresses are often challenged: try another network, or send onramp's requests through a proxy that is let through (HTTPS_PROXY=http://proxy:port).`,
    {code: 'firewall_challenge'},
  )
}

/** Words of the challenge and block pages of Cloudflare, Akamai, Imperva, AWS WAF, Sucuri and the like. */
const CHALLENGE_MARKERS = /cf-chl|challenge-platform|just a moment|attention required|captcha|are you a (human|robot)|access denied|request (was )?blocked|web application firewall|\bwaf\b|incapsula|akamai|sucuri|ddos protection|checking your browser/i

/** "PostHog" for PostHog's own hosts, else the server's host: a custom server is not PostHog. */
function serverName(url: string): string {
  const {hostname, host} = new URL(url)
  return hostname === 'posthog.com' || hostname.endsWith('.posthog.com') ? 'PostHog' : `the server at ${host}`
}

interface Deadline {
  signal: AbortSignal
  remainingMs: () => number
  clear: () => void
}

/**
 * A referenced AbortController and setTimeout, not AbortSignal.timeout(): on Node 20 a timeout signal
 * composed with AbortSignal.any() can be garbage-collected and never fire. The timer is unref'd so an
 * unread body never keeps the process alive; a socket still delivering data keeps it running.
 */
function startDeadline(timeoutMs: number, callerSignal: AbortSignal | undefined): Deadline {
  const controller = new AbortController()
  const endsAt = Date.now() + timeoutMs
  const timer = setTimeout(() => {
    controller.abort(new DOMException(`The request timed out after ${Math.round(timeoutMs / 100) / 10} s`, 'TimeoutError'))
  }, timeoutMs)
  timer.unref?.()
  const onCallerAbort = () => controller.abort(callerSignal?.reason)
  if (callerSignal?.aborted) onCallerAbort()
  else callerSignal?.addEventListener('abort', onCallerAbort, {once: true})
  return {
    signal: controller.signal,
    remainingMs: () => endsAt - Date.now(),
    clear: () => {
      clearTimeout(timer)
      callerSignal?.removeEventListener('abort', onCallerAbort)
    },
  }
}

/**
 * The same response over a stream that counts what it passes on and stops at `maxBytes`, and that
 * fails when the deadline passes, so every reader (ours and openid-client's) is bounded in time and memory.
 */
function limitBody(response: Response, {url, maxBytes, deadline}: {url: string; maxBytes: number; deadline: Deadline}): Response {
  const declared = Number(response.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > maxBytes) {
    deadline.clear()
    response.body?.cancel().catch(() => {})
    throw new ResponseTooLargeError(url, maxBytes)
  }
  // Null-body answers (204, 304, HEAD) and statuses Response cannot be built with are passed as they are.
  if (!response.body || response.status < 200 || response.status > 599) {
    deadline.clear()
    return response
  }
  const reader = response.body.getReader()
  let received = 0
  let onAbort: (() => void) | undefined
  const finish = () => {
    deadline.clear()
    if (onAbort) deadline.signal.removeEventListener('abort', onAbort)
  }
  const limited = new ReadableStream<Uint8Array>({
    start(controller) {
      onAbort = () => {
        finish()
        reader.cancel().catch(() => {})
        controller.error(deadline.signal.reason)
      }
      if (deadline.signal.aborted) onAbort()
      else deadline.signal.addEventListener('abort', onAbort, {once: true})
    },
    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>
      try {
        chunk = await reader.read()
      } catch (error) {
        finish()
        // The deadline's reason says what happened better than the socket's "aborted".
        controller.error(deadline.signal.aborted ? deadline.signal.reason : error)
        return
      }
      if (deadline.signal.aborted) return // already errored by onAbort
      if (chunk.done) {
        finish()
        controller.close()
        return
      }
      received += chunk.value.byteLength
      if (received > maxBytes) {
        finish()
        reader.cancel().catch(() => {})
        controller.error(new ResponseTooLargeError(url, maxBytes))
        return
      }
      controller.enqueue(chunk.value)
    },
    cancel(reason) {
      finish()
      return reader.cancel(reason)
    },
  })
  const wrapped = new Response(limited, {status: response.status, statusText: response.statusText, headers: response.headers})
  // Kept for callers that look at where the answer came from.
  Object.defineProperty(wrapped, 'url', {value: response.url})
  Object.defineProperty(wrapped, 'redirected', {value: response.redirected})
  return wrapped
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB` : `${Math.round(bytes / 1024)} KiB`
}

/** The first onramp error in a cause chain: ours thrown inside openid-client come back wrapped. */
export function onrampErrorIn(error: unknown): OnrampError | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    if (current instanceof OnrampError) return current
  }
  return undefined
}

/** Retry-After in seconds or an HTTP date (RFC 9110 10.2.3), else the short backoff (250 ms, 500 ms, ...). */
export function retryDelay(retryAfter: string | null, attempt: number): number {
  return parseRetryAfter(retryAfter) ?? backoff(attempt)
}

/**
 * The longest wait a Retry-After is read as: a day. Anything longer (9999999999999 s, a date in year
 * 275760) is capped, so every caller can turn it into a date and a message instead of failing on an
 * invalid time value.
 */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000

/** Retry-After as milliseconds to wait (at most MAX_RETRY_AFTER_MS), or undefined when absent or unreadable. */
export function parseRetryAfter(retryAfter: string | null, now: number = Date.now()): number | undefined {
  const value = retryAfter?.trim()
  if (!value) return undefined
  let ms: number
  if (/^\d+(\.\d+)?$/.test(value)) ms = Number(value) * 1000
  else {
    // An HTTP-date names its day; Date.parse alone would read "-3" as a year.
    const date = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN
    if (Number.isNaN(date)) return undefined
    ms = date - now
  }
  if (!Number.isFinite(ms)) return MAX_RETRY_AFTER_MS
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms))
}

/** A URL without its query (codes, states) or fragment, for logs. */
export function stripQuery(url: string): string {
  const parsed = new URL(url)
  return `${parsed.origin}${parsed.pathname}`
}

/** A failure to get any HTTP answer (DNS, refused, reset, TLS, timeout), as opposed to an error answer. */
export function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return true
  // undici says "fetch failed"; browsers and MSW say "Failed to fetch".
  if (error instanceof TypeError && /fetch|network/i.test(error.message)) return true
  return error.cause instanceof Error && isNetworkFailure(error.cause)
}

/** The useful part of a fetch failure: undici hides the errno in `cause`. */
export function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    if (current.name === 'TimeoutError') return 'timed out'
  }
  const cause = (error as {cause?: {code?: string; message?: string}}).cause
  return cause?.code ?? cause?.message ?? error.message
}

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']

/**
 * Routes global fetch through HTTPS_PROXY/HTTP_PROXY/NO_PROXY via undici's EnvHttpProxyAgent.
 * undici is imported only when a proxy variable is set: it costs ~70 ms at start-up.
 */
export async function installProxyFromEnv(env: NodeJS.ProcessEnv): Promise<boolean> {
  if (!PROXY_VARIABLES.some((name) => env[name])) return false
  const {EnvHttpProxyAgent, setGlobalDispatcher} = await import('undici')
  setGlobalDispatcher(new EnvHttpProxyAgent())
  return true
}

/** The one "server unreachable" error (exit 6): no HTTP answer at all, as opposed to an error answer. */
export function serverUnreachable(issuer: string, error: unknown): NetworkError {
  const certificate = certificateProblem(error)
  if (certificate) {
    return new NetworkError(`Could not talk to ${issuer} securely: ${describeCertificateProblem(certificate, new URL(issuer).host)}`, {code: 'tls_certificate', cause: error})
  }
  if (describeFetchError(error) === 'bad port') {
    const url = new URL(issuer)
    return new NetworkError(
      `Could not reach ${issuer}: port ${url.port} is not allowed (fetch refuses ports kept for other protocols, such as 1, 25 or 6000), so nothing there can answer onramp. Check the port in --host (the server's usual port is 443 for https, or the one your local server prints).`,
      {code: 'bad_port', cause: error},
    )
  }
  return new NetworkError(`Could not reach ${issuer} (${describeFetchError(error)}). Check the host, your connection, or HTTPS_PROXY, then try again.`, {
    code: 'server_unreachable',
    cause: error,
  })
}
