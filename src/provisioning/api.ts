/**
 * One request to the agentic provisioning API (server.md section 4), as every step module sends it:
 * `API-Version`, JSON or form body, an optional Bearer token, the `RateLimit-*` headers logged, a short
 * `rate_limited` 429 waited out once, and any error answer (typed, status or OAuth envelope) turned into
 * an `src/errors.ts` class by ./errors.ts. Steps get back a parsed JSON object or an exception, never a
 * Response.
 */
import {OnrampError} from '../errors.js'
import {parseRetryAfter, serverUnreachable, type Fetch} from '../http.js'
import type {Logger} from '../log.js'
import {malformedResponse, mapProvisioningError, readErrorEnvelope, type ProvisioningStep} from './errors.js'

/** Sent on every `/api/agentic` call: no view checks it today, older servers required it (server.md 4.1). */
export const PROVISIONING_API_VERSION = '0.1d'

/** The longest `Retry-After` waited out before one retry; longer ones fail with exit 6 and the time to retry. */
export const RATE_LIMIT_WAIT_LIMIT_SECONDS = 10

export interface ProvisioningDeps {
  http: Fetch
  logger: Logger
  /** Injected so tests do not wait. */
  sleep?: (ms: number) => Promise<void>
  /** For HTTP-date `Retry-After` values and the "retry at" time in messages. */
  now?: () => Date
  /** Told before a rate-limit wait, so a person is not left looking at a silent terminal (e.g. `ui.info`). */
  onRateLimitWait?: (wait: {step: ProvisioningStep; seconds: number}) => void
}

export interface ProvisioningRequest {
  step: ProvisioningStep
  issuer: string
  url: string
  method?: 'GET' | 'POST'
  /** JSON body (account_requests, client_registration, resources). */
  json?: Record<string, unknown>
  /** Form body (the token endpoint, introspection). */
  form?: Record<string, string>
  bearer?: string
  /** false for the code exchange: its 429 comes after the code is consumed (server.md 4.2), a retry cannot succeed. */
  retryRateLimited?: boolean
  /** false for introspection, which is an OAuth endpoint, not `/api/agentic`. */
  apiVersion?: boolean
  /** Non-2xx statuses handed back as answers instead of errors (body `{}` when it is not a JSON object). */
  accept?: readonly number[]
  /** Extra context for the error mapping (scopes requested, the resource id). */
  context?: {scopes?: readonly string[]; resourceId?: string; clientId?: string}
}

export interface ProvisioningAnswer {
  status: number
  body: Record<string, unknown>
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Sends one provisioning request and processes the answer: a JSON object back, anything else an OnrampError. */
export async function callProvisioning(deps: ProvisioningDeps, request: ProvisioningRequest): Promise<ProvisioningAnswer> {
  const response = await sendProvisioning(deps, request)
  return processProvisioningResponse(response, request, {logger: deps.logger, now: (deps.now ?? (() => new Date()))()})
}

/**
 * The sending half: one request, and a short `rate_limited` 429 waited out once (not for GET: createHttp
 * retries those; not when `retryRateLimited` is false). The last Response comes back unread.
 */
export async function sendProvisioning(deps: ProvisioningDeps, request: ProvisioningRequest): Promise<Response> {
  const {sleep = defaultSleep, now = () => new Date()} = deps
  const method = request.method ?? 'POST'
  let mayRetry = (request.retryRateLimited ?? true) && method !== 'GET'
  for (;;) {
    const response = await send(deps, request, method)
    if (response.status !== 429 || !mayRetry) return response
    const retryAfter = retryAfterSeconds(response.headers.get('retry-after'), now())
    if (retryAfter === undefined || retryAfter > RATE_LIMIT_WAIT_LIMIT_SECONDS) return response
    mayRetry = false
    logRateLimit(deps.logger, request.step, response)
    const parsed = await readJson(response)
    const code = parsed.kind === 'object' ? (readErrorEnvelope(parsed.value)?.code ?? null) : null
    deps.logger.event('provisioning.rate_limited', {step: request.step, retry_after: retryAfter, code}, 'warn', {echo: true})
    deps.onRateLimitWait?.({step: request.step, seconds: retryAfter})
    await sleep(retryAfter * 1000)
  }
}

/**
 * The processing half of every provisioning step: a Response in, a JSON object or an OnrampError out,
 * no network (test it with `new Response(...)`). Liberal in what it reads: a 2xx that carries an error
 * envelope (`{type:"error"}` or `{status:"error"}`, as the wizard's schema allows) is that error; a
 * status listed in `accept` comes back as an answer.
 */
export async function processProvisioningResponse(
  response: Response,
  request: Pick<ProvisioningRequest, 'step' | 'issuer' | 'accept' | 'context'>,
  {logger, now = new Date()}: {logger: Logger; now?: Date},
): Promise<ProvisioningAnswer> {
  logRateLimit(logger, request.step, response)
  const parsed = await readJson(response)
  if (!response.ok && request.accept?.includes(response.status)) return {status: response.status, body: parsed.kind === 'object' ? parsed.value : {}}
  const envelope = parsed.kind === 'object' ? readErrorEnvelope(parsed.value) : undefined
  if (response.ok) {
    if (parsed.kind !== 'object') throw malformedResponse({step: request.step, issuer: request.issuer, status: response.status, contentType: response.headers.get('content-type'), expected: 'a JSON object'})
    const body = parsed.value
    if (envelope && (body.type === 'error' || body.status === 'error')) {
      logger.event('provisioning.error_in_2xx', {step: request.step, status: response.status, code: envelope.code}, 'warn')
      throw mapProvisioningError({step: request.step, issuer: request.issuer, status: response.status, envelope, now, context: request.context}, logger)
    }
    return {status: response.status, body}
  }
  if (response.status === 429) {
    const retryAfter = retryAfterSeconds(response.headers.get('retry-after'), now)
    logger.event('provisioning.rate_limited', {step: request.step, retry_after: retryAfter ?? null, code: envelope?.code ?? null}, 'warn', {echo: true})
    throw mapProvisioningError({step: request.step, issuer: request.issuer, status: 429, envelope, retryAfterSeconds: retryAfter, retryAfterHeader: response.headers.get('retry-after'), now, context: request.context}, logger)
  }
  throw mapProvisioningError({step: request.step, issuer: request.issuer, status: response.status, envelope, now, context: request.context}, logger)
}

async function send(deps: ProvisioningDeps, request: ProvisioningRequest, method: string): Promise<Response> {
  const headers: Record<string, string> = {accept: 'application/json'}
  if (request.apiVersion ?? true) headers['API-Version'] = PROVISIONING_API_VERSION
  if (request.bearer !== undefined) headers.authorization = `Bearer ${request.bearer}`
  let body: string | undefined
  if (request.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams(request.form).toString()
  } else if (request.json) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(request.json)
  }
  try {
    return await deps.http(request.url, {method, headers, ...(body === undefined ? {} : {body})})
  } catch (error) {
    // Ours (a body over the size limit, a deadline) already says what happened; anything else is no answer at all.
    throw error instanceof OnrampError ? error : serverUnreachable(request.issuer, error)
  }
}

type Parsed = {kind: 'object'; value: Record<string, unknown>} | {kind: 'other'}

async function readJson(response: Response): Promise<Parsed> {
  const text = await response.text().catch(() => '')
  try {
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? {kind: 'object', value: value as Record<string, unknown>} : {kind: 'other'}
  } catch {
    return {kind: 'other'}
  }
}

/**
 * `RateLimit-Limit` (burst), `-Remaining`, `-Reset` (seconds until full), sent on every response that
 * charged a partner bucket (server.md 4.3). Logged so `--verbose` shows how close the next 429 is.
 */
function logRateLimit(logger: Logger, step: ProvisioningStep, response: Response): void {
  const limit = response.headers.get('ratelimit-limit')
  const remaining = response.headers.get('ratelimit-remaining')
  const reset = response.headers.get('ratelimit-reset')
  if (limit === null && remaining === null && reset === null) return
  logger.event('provisioning.rate_limit', {step, status: response.status, limit: numberOrText(limit), remaining: numberOrText(remaining), reset: numberOrText(reset)}, 'info')
}

function numberOrText(value: string | null): number | string | null {
  if (value === null) return null
  const number = Number(value)
  return Number.isFinite(number) ? number : value
}

/** RFC 9110 section 10.2.3: delay-seconds or an HTTP-date; whole seconds, rounded up; undefined when absent or unreadable. */
export function retryAfterSeconds(value: string | null, now: Date): number | undefined {
  const ms = parseRetryAfter(value, now.getTime())
  return ms === undefined ? undefined : Math.ceil(ms / 1000)
}

/** `{issuer}{path}`, the issuer without a trailing slash (provisioning paths have none, server.md 4.1). */
export function provisioningUrl(issuer: string, path: string): string {
  return `${issuer.replace(/\/+$/, '')}${path}`
}
