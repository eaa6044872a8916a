import {NetworkError} from './errors.js'
import type {Logger} from './log.js'

/**
 * The one HTTP client: global `fetch` (so MSW can intercept it) with a User-Agent, a timeout on every
 * request, and retries with backoff only for idempotent requests on network errors, 5xx and 429
 * (honouring Retry-After). Non-idempotent requests (token, registration) are sent once.
 */
export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

export interface HttpOptions {
  userAgent: string
  logger?: Logger
  timeoutMs?: number
  retries?: number
  /** Longest Retry-After we are willing to wait; longer ones fail with the server's answer. */
  maxRetryAfterMs?: number
  sleep?: (ms: number) => Promise<void>
  fetch?: Fetch
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])

export function createHttp(options: HttpOptions): Fetch {
  const {
    userAgent,
    logger,
    timeoutMs = 15_000,
    retries = 2,
    maxRetryAfterMs = 10_000,
    sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  } = options
  // Resolved per call so a fetch replaced after start-up (MSW in tests) is still used.
  const baseFetch: Fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))

  return async function http(input, init = {}) {
    const request = new Request(input, init)
    const method = request.method.toUpperCase()
    const attempts = IDEMPOTENT.has(method) ? retries + 1 : 1
    const body = method === 'GET' || method === 'HEAD' ? undefined : await request.arrayBuffer()
    const headers = new Headers(request.headers)
    // Always ours: openid-client would otherwise announce itself (oauth4webapi/x.y).
    headers.set('user-agent', userAgent)

    for (let attempt = 1; ; attempt++) {
      const started = Date.now()
      try {
        const response = await baseFetch(request.url, {
          method,
          headers,
          body,
          redirect: request.redirect,
          signal: init.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
        })
        logger?.event('http.response', {method, url: stripQuery(request.url), status: response.status, ms: Date.now() - started, attempt}, 'debug')
        if (attempt < attempts && (response.status >= 500 || response.status === 429)) {
          const wait = retryDelay(response.headers.get('retry-after'), attempt)
          if (wait <= maxRetryAfterMs) {
            // Not awaited: some stream implementations (MSW's) never settle a cancel.
            response.body?.cancel().catch(() => {})
            await sleep(wait)
            continue
          }
        }
        return response
      } catch (error) {
        logger?.event('http.error', {method, url: stripQuery(request.url), error: describeFetchError(error), attempt}, 'debug')
        if (init.signal?.aborted || attempt >= attempts) throw error
        await sleep(retryDelay(null, attempt))
      }
    }
  }
}

/** Retry-After in seconds or an HTTP date (RFC 9110 10.2.3), else exponential backoff from 250 ms. */
export function retryDelay(retryAfter: string | null, attempt: number): number {
  if (retryAfter) {
    const seconds = Number(retryAfter)
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
    const date = Date.parse(retryAfter)
    if (!Number.isNaN(date)) return Math.max(0, date - Date.now())
  }
  return 250 * 2 ** (attempt - 1)
}

function stripQuery(url: string): string {
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
  if (error.name === 'TimeoutError') return 'timed out'
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
