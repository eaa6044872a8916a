/**
 * The first handler of every mock: counts the request, adds latency, and answers with an injected fault
 * when one is queued for the path (500, 503 temporarily_unavailable, 429, a malformed JSON body).
 * Otherwise it returns nothing, so MSW goes on to the real handlers. `/__mock/*` is neither counted nor faulted.
 */
import {http, type HttpHandler} from 'msw'

import {isControlPath, isForThisMock, json, oauthError, provisioningError, statusError, type MockContext} from './http.js'
import {countRequest, recordEvent, type FaultRule, type MockState} from './state.js'

export interface FaultInput {
  path: string
  status?: number
  count?: number
  /** Seconds; null sends no Retry-After even on a 429 or 503 (default 1 there). */
  retry_after?: number | null
  method?: string
  /**
   * true: the request reaches its handler (an account is created, a code consumed, a token rotated) and only
   * then is the answer replaced by the fault: a response lost on the way back.
   */
  after_handler?: boolean
  /** Overrides the error code and message of the injected body. */
  code?: string
  message?: string
  /** 200 (or `status`) with a JSON content type and a body cut in the middle. */
  malformed?: boolean
}

function normalizePath(path: string): string {
  const pathname = /^https?:\/\//.test(path) ? new URL(path).pathname : path
  return pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname
}

/** Queues "fail the next N requests on this path" (trailing slash ignored, so both forms are hit). */
export function addFault(state: MockState, input: FaultInput): FaultRule {
  if (typeof input.path !== 'string' || input.path === '') throw new Error('fail_next.path is required')
  const rule: FaultRule = {
    path: normalizePath(input.path),
    method: input.method?.toUpperCase(),
    status: input.status ?? (input.malformed ? 200 : 500),
    remaining: input.count ?? 1,
    retry_after: input.retry_after === null ? null : input.retry_after,
    malformed: input.malformed ?? false,
    code: input.code,
    message: input.message,
    after_handler: input.after_handler ?? false,
  }
  state.faults.push(rule)
  return rule
}

function takeFault(state: MockState, {method, pathname, late}: {method: string; pathname: string; late: boolean}): FaultRule | undefined {
  const path = normalizePath(pathname)
  const rule = state.faults.find(
    (candidate) => candidate.remaining > 0 && candidate.after_handler === late && candidate.path === path && (!candidate.method || candidate.method === method),
  )
  if (!rule) return undefined
  rule.remaining -= 1
  if (rule.remaining === 0) state.faults.splice(state.faults.indexOf(rule), 1)
  return rule
}

/** The provisioning endpoints' own 5xx codes (server.md section 4.2); others get `server_error`. */
function provisioningServerError(pathname: string): {code: string; message: string} {
  if (pathname.endsWith('/account_requests')) return {code: 'account_creation_failed', message: 'Failed to create account'}
  if (pathname.endsWith('/rotate_credentials')) return {code: 'credential_rotation_failed', message: 'Failed to rotate credentials'}
  if (pathname.endsWith('/remove')) return {code: 'remove_failed', message: 'Failed to remove resource'}
  return {code: 'server_error', message: 'Injected server error.'}
}

/**
 * The injected answer, in the error format of the endpoint family (server.md sections 3 and 4.1): typed
 * for account_requests and client_registration (and every provisioning 429, the token endpoint's too),
 * status for the Bearer resource endpoints, OAuth for the token endpoints' other errors.
 */
function faultResponse(ctx: MockContext, rule: FaultRule, pathname: string): Response {
  const retryAfter = rule.retry_after === null ? undefined : (rule.retry_after ?? (rule.status === 503 || rule.status === 429 ? 1 : undefined))
  const headers: Record<string, string> = retryAfter === undefined ? {} : {'retry-after': String(retryAfter)}
  if (rule.malformed) return new Response('{"access_token": "pha_', {status: rule.status, headers: {'content-type': 'application/json', ...headers}})
  const path = pathname.slice(ctx.basePath.length)
  const family = path.startsWith('/api/agentic/provisioning/resources')
    ? 'status'
    : path.startsWith('/api/agentic/provisioning/')
      ? 'typed'
      : path.startsWith('/api/agentic/oauth/token')
        ? rule.status === 429
          ? 'typed'
          : 'oauth'
        : path.startsWith('/oauth/')
          ? 'oauth'
          : 'plain'
  const fallback =
    rule.status === 429
      ? {code: 'rate_limited', message: 'Too many requests; retry later.'}
      : rule.status === 503
        ? {code: 'temporarily_unavailable', message: 'The service is temporarily unavailable; retry shortly.'}
        : family === 'typed' || family === 'status'
          ? provisioningServerError(path)
          : {code: 'server_error', message: 'Injected server error.'}
  const code = rule.code ?? fallback.code
  const message = rule.message ?? fallback.message
  if (family === 'typed') return provisioningError(code, message, rule.status, headers)
  if (family === 'status') return statusError(code, message, rule.status, '', headers)
  if (family === 'oauth' || rule.status === 429 || rule.status === 503) return oauthError(code, message, rule.status, headers)
  return json({detail: message}, rule.status, headers)
}

export function faultHandler(ctx: MockContext): HttpHandler {
  return http.all(
    ({request}) => {
      const url = new URL(request.url)
      return isForThisMock(ctx, url) && !isControlPath(ctx, url)
    },
    async ({request}) => {
      const {pathname} = new URL(request.url)
      countRequest(ctx.state, request.method, pathname)
      const latency = ctx.state.config.latency_ms
      if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency))
      const rule = takeFault(ctx.state, {method: request.method, pathname, late: false})
      if (!rule) return undefined
      recordEvent(ctx.state, 'mock.fault_injected', 'info', {method: request.method, path: pathname, status: rule.status, malformed: rule.malformed})
      return faultResponse(ctx, rule, pathname)
    },
  )
}

/** The `after_handler` faults: called by every route once its handler has answered (http.ts route()). */
export function lateFault(ctx: MockContext): (request: Request, pathname: string) => Response | undefined {
  return (request, pathname) => {
    if (isControlPath(ctx, new URL(request.url))) return undefined
    const rule = takeFault(ctx.state, {method: request.method, pathname, late: true})
    if (!rule) return undefined
    recordEvent(ctx.state, 'mock.fault_injected', 'info', {method: request.method, path: pathname, status: rule.status, malformed: rule.malformed, after_handler: true})
    return faultResponse(ctx, rule, pathname)
  }
}
