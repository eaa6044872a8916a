/**
 * Partner rate limits (server.md section 4.3): one token bucket per partner and bucket name (capacity =
 * burst, continuous refill on the mock's clock), `RateLimit-*` headers on every response that charged a
 * bucket, refunds for the codes that did no work; and client_registration's fixed-window throttles.
 */
import {json} from './http.js'
import {recordEvent, type Bucket, type BucketName, type MockState} from './state.js'

export const RATE_LIMITED_MESSAGE =
  'Rate limit exceeded for this partner. Wait the number of seconds in the Retry-After header, then retry. To raise your limits, publish a JWKS document or verify your organization: https://posthog.com/docs/integrate/provisioning#rate-limits'

/** A charge that happened: what the headers and a refund need. */
export interface Charge {
  key: string
  burst: number
  perSecond: number
}

export type ChargeResult = {limited: false; charge: Charge | undefined} | {limited: true; charge: Charge; retryAfter: number}

function bucketKey(clientId: string, bucket: BucketName): string {
  return `${clientId} ${bucket}`
}

/** The bucket brought up to now: continuous refill, never above capacity. */
function refilled(state: MockState, charge: Charge): Bucket {
  const now = state.now()
  const bucket = state.buckets.get(charge.key) ?? {tokens: charge.burst, updated_at: now}
  const elapsedSeconds = Math.max(0, (now - bucket.updated_at) / 1000)
  const current = {tokens: Math.min(charge.burst, bucket.tokens + elapsedSeconds * charge.perSecond), updated_at: now}
  state.buckets.set(charge.key, current)
  return current
}

/** Takes one token, or says how long until the next one (whole seconds, rounded up). Unlimited: no charge. */
export function chargeBucket(state: MockState, {clientId, bucket}: {clientId: string; bucket: BucketName}): ChargeResult {
  const limit = state.config.rate_limits[bucket]
  if (!state.config.rate_limit || limit === 'unlimited') return {limited: false, charge: undefined}
  const charge: Charge = {key: bucketKey(clientId, bucket), burst: limit.burst, perSecond: limit.per_hour / 3600}
  const current = refilled(state, charge)
  if (current.tokens >= 1) {
    current.tokens -= 1
    return {limited: false, charge}
  }
  const retryAfter = charge.perSecond > 0 ? Math.max(1, Math.ceil((1 - current.tokens) / charge.perSecond)) : 3600
  state.counters.provisioning.rate_limited += 1
  recordEvent(state, 'provisioning.rate_limited', 'info', {client_id: clientId, bucket, retry_after: retryAfter})
  return {limited: true, charge, retryAfter}
}

/** `RateLimit-Limit` (burst), `-Remaining` (whole tokens left), `-Reset` (seconds until full). */
export function rateLimitHeaders(state: MockState, charge: Charge): Record<string, string> {
  const current = refilled(state, charge)
  const reset = charge.perSecond > 0 ? Math.ceil((charge.burst - current.tokens) / charge.perSecond) : 0
  return {'ratelimit-limit': String(charge.burst), 'ratelimit-remaining': String(Math.floor(current.tokens)), 'ratelimit-reset': String(Math.max(0, reset))}
}

/** RL `_did_no_work`: these codes give the token back. */
export function isRefunded(code: string | undefined): boolean {
  if (!code) return false
  return ['forbidden', 'unauthorized', 'no_team', 'team_not_found', 'grant_not_found', 'deep_links_not_enabled', 'wizard_unavailable'].includes(code) || code.startsWith('invalid_')
}

/** The error code of any of the three envelopes (typed, status, OAuth). */
function errorCode(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined
  const {error} = body as {error?: unknown}
  if (typeof error === 'string') return error
  if (error && typeof error === 'object' && typeof (error as {code?: unknown}).code === 'string') return (error as {code: string}).code
  return undefined
}

/** Refunds when the answer did no work, then adds the headers (errors and 429s included). */
export async function finishCharged(state: MockState, charge: Charge | undefined, response: Response): Promise<Response> {
  if (!charge) return response
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  if (response.status < 500 && isRefunded(errorCode(body))) {
    const current = refilled(state, charge)
    current.tokens = Math.min(charge.burst, current.tokens + 1)
  }
  const headers = new Headers(response.headers)
  for (const [name, value] of Object.entries(rateLimitHeaders(state, charge))) headers.set(name, value)
  return new Response(text, {status: response.status, headers})
}

/** The typed 429 (account_requests, token) or the status one (Bearer endpoints). */
export function rateLimitedResponse({retryAfter, envelope, id = ''}: {retryAfter: number; envelope: 'typed' | 'status'; id?: string}): Response {
  const error = {code: 'rate_limited', message: RATE_LIMITED_MESSAGE}
  const body = envelope === 'typed' ? {type: 'error', error} : {status: 'error', id, error}
  return json(body, 429, {'retry-after': String(retryAfter)})
}

/** Control: the bucket holds no token from now on (every partner unless one is named). */
export function emptyBucket(state: MockState, {bucket, clientIds}: {bucket: BucketName; clientIds: string[]}): void {
  for (const clientId of clientIds) state.buckets.set(bucketKey(clientId, bucket), {tokens: 0, updated_at: state.now()})
}

/**
 * Fixed window (client_registration's throttles, account_requests' caller cap): the window opens at the
 * first request and lasts `windowSeconds` (an hour by default). Returns the seconds to the window's end when the limit is reached, else counts the request.
 */
export function takeFixedWindow(state: MockState, {key, limit, windowSeconds = 3600}: {key: string; limit: number; windowSeconds?: number}): number | undefined {
  if (!state.config.rate_limit) return undefined
  const now = state.now()
  const length = windowSeconds * 1000
  const window = state.throttleWindows.get(key)
  const current = window && now < window.window_start + length ? window : {window_start: now, count: 0}
  state.throttleWindows.set(key, current)
  if (current.count >= limit) return Math.max(1, Math.ceil((current.window_start + length - now) / 1000))
  current.count += 1
  return undefined
}

/** The caller's address: the mock sits behind no proxy, so X-Forwarded-For (tests set it) or loopback. */
export function callerIp(request: Request): string {
  return request.headers.get('x-forwarded-for')?.split(',')[0]?.trim() || request.headers.get('x-real-ip') || '127.0.0.1'
}
