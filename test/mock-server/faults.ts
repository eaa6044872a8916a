/**
 * The first handler of every mock: counts the request, adds latency, and answers with an injected fault
 * when one is queued for the path (500, 503 temporarily_unavailable, 429, a malformed JSON body).
 * Otherwise it returns nothing, so MSW goes on to the real handlers. `/__mock/*` is neither counted nor faulted.
 */
import {http, type HttpHandler} from 'msw'

import {isControlPath, isForThisMock, json, oauthError, provisioningError, type MockContext} from './http.js'
import {countRequest, recordEvent, type FaultRule, type MockState} from './state.js'

export interface FaultInput {
  path: string
  status?: number
  count?: number
  retry_after?: number
  method?: string
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
    retry_after: input.retry_after,
    malformed: input.malformed ?? false,
  }
  state.faults.push(rule)
  return rule
}

function takeFault(state: MockState, method: string, pathname: string): FaultRule | undefined {
  const path = normalizePath(pathname)
  const rule = state.faults.find((candidate) => candidate.remaining > 0 && candidate.path === path && (!candidate.method || candidate.method === method))
  if (!rule) return undefined
  rule.remaining -= 1
  if (rule.remaining === 0) state.faults.splice(state.faults.indexOf(rule), 1)
  return rule
}

/** The injected answer, in the error format of the endpoint family (server.md sections 3 and 4). */
function faultResponse(ctx: MockContext, rule: FaultRule, pathname: string): Response {
  const retryAfter = rule.retry_after ?? (rule.status === 503 || rule.status === 429 ? 1 : undefined)
  const headers: Record<string, string> = retryAfter === undefined ? {} : {'retry-after': String(retryAfter)}
  if (rule.malformed) return new Response('{"access_token": "pha_', {status: rule.status, headers: {'content-type': 'application/json', ...headers}})
  const provisioning = pathname.startsWith(`${ctx.basePath}/api/agentic/provisioning/`)
  if (rule.status === 429) {
    return provisioning ? provisioningError('rate_limited', 'Too many requests; retry later.', 429, headers) : oauthError('rate_limited', 'Too many requests; retry later.', 429, headers)
  }
  if (rule.status === 503) {
    return provisioning
      ? provisioningError('temporarily_unavailable', 'The service is temporarily unavailable.', 503, headers)
      : oauthError('temporarily_unavailable', 'The service is temporarily unavailable; retry shortly.', 503, headers)
  }
  if (provisioning) return provisioningError('server_error', 'Injected server error.', rule.status, headers)
  if (pathname.startsWith(`${ctx.basePath}/oauth/`)) return oauthError('server_error', 'Injected server error.', rule.status, headers)
  return json({detail: 'Injected server error.'}, rule.status, headers)
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
      const rule = takeFault(ctx.state, request.method, pathname)
      if (!rule) return undefined
      recordEvent(ctx.state, 'mock.fault_injected', 'info', {method: request.method, path: pathname, status: rule.status, malformed: rule.malformed})
      return faultResponse(ctx, rule, pathname)
    },
  )
}
