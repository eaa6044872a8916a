import {NetworkError, OnrampError} from './errors.js'
import type {Logger} from './log.js'

/**
 * The one HTTP client: global `fetch` (so MSW can intercept it) with a User-Agent, one hard deadline
 * per request that covers the body read too, a size limit on every body, and retries with backoff
 * only for idempotent requests on network errors, 5xx and 429 (honouring Retry-After).
 * Non-idempotent requests (token, registration) are sent again only when the server said it did
 * nothing: a 503 with a short Retry-After, once. Not a 429: PostHog's provisioning token endpoint
 * consumes the code before it charges the bucket that answers 429 (its caller handles that one).
 */
export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

export interface HttpOptions {
  userAgent: string
  logger?: Logger
  /** One deadline for the whole request: every attempt, the waits between them, and reading the body. */
  timeoutMs?: number
  retries?: number
  /** Longest Retry-After we are willing to wait; longer ones fail with the server's answer. */
  maxRetryAfterMs?: number
  /** A POST is retried only on a 503 asking for at most this wait (the server did nothing). */
  maxPostRetryAfterMs?: number
  /** Largest body read; a larger one fails (ResponseTooLargeError) without being held in memory. */
  maxBodyBytes?: number
  sleep?: (ms: number) => Promise<void>
  fetch?: Fetch
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])
/** Metadata, token and user documents are a few KiB; 1 MiB leaves room and bounds memory. */
export const MAX_BODY_BYTES = 1024 * 1024

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
    maxPostRetryAfterMs = 5_000,
    maxBodyBytes = MAX_BODY_BYTES,
    sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  } = options
  // Resolved per call so a fetch replaced after start-up (MSW in tests) is still used.
  const baseFetch: Fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))

  return async function http(input, init = {}) {
    const request = new Request(input, init)
    const method = request.method.toUpperCase()
    const idempotent = IDEMPOTENT.has(method)
    const attempts = idempotent ? retries + 1 : 2
    const body = method === 'GET' || method === 'HEAD' ? undefined : await request.arrayBuffer()
    const headers = new Headers(request.headers)
    // Always ours: openid-client would otherwise announce itself (oauth4webapi/x.y).
    headers.set('user-agent', userAgent)
    const deadline = startDeadline(timeoutMs, init.signal ?? undefined)

    try {
      for (let attempt = 1; ; attempt++) {
        const started = Date.now()
        try {
          const response = await baseFetch(request.url, {method, headers, body, redirect: request.redirect, signal: deadline.signal})
          logger?.event('http.response', {method, url: stripQuery(request.url), status: response.status, ms: Date.now() - started, attempt}, 'debug')
          if (attempt < attempts && (response.status >= 500 || response.status === 429)) {
            const retryAfter = response.headers.get('retry-after')
            const wait = retryDelay(retryAfter, attempt)
            const allowed = idempotent
              ? wait <= maxRetryAfterMs
              : // RFC 6749 5.2 temporarily_unavailable / RFC 9110 15.6.4: the server did nothing, so sending again is safe.
                response.status === 503 && parseRetryAfter(retryAfter) !== undefined && wait <= maxPostRetryAfterMs
            if (allowed && wait < deadline.remainingMs()) {
              // Not awaited: some stream implementations (MSW's) never settle a cancel.
              response.body?.cancel().catch(() => {})
              await sleep(wait)
              continue
            }
          }
          return limitBody(response, {url: request.url, maxBytes: maxBodyBytes, deadline})
        } catch (error) {
          if (error instanceof ResponseTooLargeError) throw error // the same answer again would be as large
          logger?.event('http.error', {method, url: stripQuery(request.url), error: describeFetchError(error), attempt}, 'debug')
          if (deadline.signal.aborted || !idempotent || attempt >= attempts) throw deadline.signal.aborted ? deadline.signal.reason : error
          await sleep(retryDelay(null, attempt))
        }
      }
    } catch (error) {
      deadline.clear()
      throw error
    }
  }
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

/** Retry-After in seconds or an HTTP date (RFC 9110 10.2.3), else exponential backoff from 250 ms. */
export function retryDelay(retryAfter: string | null, attempt: number): number {
  return parseRetryAfter(retryAfter) ?? 250 * 2 ** (attempt - 1)
}

/** Retry-After as milliseconds to wait, or undefined when absent or unreadable. */
export function parseRetryAfter(retryAfter: string | null, now: number = Date.now()): number | undefined {
  const value = retryAfter?.trim()
  if (!value) return undefined
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000
  // An HTTP-date names its day; Date.parse alone would read "-3" as a year.
  const date = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
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
  return new NetworkError(`Could not reach ${issuer} (${describeFetchError(error)}). Check the host, your connection, or HTTPS_PROXY, then try again.`, {
    code: 'server_unreachable',
    cause: error,
  })
}
