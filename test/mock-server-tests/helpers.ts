/**
 * Helpers for the mock server's own tests: plain fetch against MSW in-process, PKCE, the consent form,
 * and short paths through the flows. Every test gets a fresh mock (its own state and clock).
 */
import {createHash, randomBytes} from 'node:crypto'

import {setupServer} from 'msw/node'

import {createMockServer, WIZARD_CLIENT_IDS, type MockServer, type MockServerOptions} from '../mock-server/index.js'
import {mswForFile} from '../support/msw.js'

export const US_CLIENT = WIZARD_CLIENT_IDS.us
export const EU_CLIENT = WIZARD_CLIENT_IDS.eu
export const CALLBACK = 'http://localhost:8239/callback'
export const TOKEN_PATTERN = {access: /^pha_[2-9A-HJ-NP-Za-km-z]{44}$/, refresh: /^phr_[2-9A-HJ-NP-Za-km-z]{44}$/}

const server = setupServer()

/** Installs MSW for the file; unmatched requests fail loudly. */
export function useMsw(): void {
  mswForFile(server)
}

export interface TestMock extends MockServer {
  clock: {advance(seconds: number): void}
}

/** A fresh mock on a controllable clock, its handlers installed for this test. */
export function startMock(options: MockServerOptions = {}): TestMock {
  let now = Date.UTC(2026, 10, 23, 12, 0, 0)
  const mock = createMockServer({now: () => now, ...options})
  server.use(...mock.handlers)
  return {...mock, clock: {advance: (seconds) => void (now += seconds * 1000)}}
}

export function pkce(): {verifier: string; challenge: string} {
  const verifier = randomBytes(32).toString('base64url')
  return {verifier, challenge: createHash('sha256').update(verifier).digest('base64url')}
}

/** fetch that never follows redirects: the tests look at each 302 themselves. */
export function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {redirect: 'manual', headers})
}

export function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {method: 'POST', redirect: 'manual', headers: {'content-type': 'application/x-www-form-urlencoded', ...headers}, body: new URLSearchParams(fields).toString()})
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {method: 'POST', redirect: 'manual', headers: {'content-type': 'application/json', ...headers}, body: JSON.stringify(body)})
}

export function bearer(token: string): Record<string, string> {
  return {authorization: `Bearer ${token}`}
}

/** The query of a redirect's Location. */
export function redirectParams(response: Response): URLSearchParams {
  const location = response.headers.get('location')
  if (!location) throw new Error(`expected a redirect, got HTTP ${response.status}`)
  return new URL(location).searchParams
}

export interface AuthorizeRequest {
  clientId?: string
  redirectUri?: string
  scope?: string
  state?: string
  challenge?: string | null
  method?: string | null
  nonce?: string
  responseType?: string | null
}

export function authorizeUrl(mock: MockServer, request: AuthorizeRequest = {}): string {
  const url = new URL(`${mock.issuer}/oauth/authorize/`)
  const params: Record<string, string | null | undefined> = {
    client_id: request.clientId ?? US_CLIENT,
    redirect_uri: request.redirectUri ?? CALLBACK,
    response_type: request.responseType === undefined ? 'code' : request.responseType,
    state: request.state ?? 'st4te',
    code_challenge: request.challenge === undefined ? pkce().challenge : request.challenge,
    code_challenge_method: request.method === undefined ? 'S256' : request.method,
    scope: request.scope,
    nonce: request.nonce,
  }
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null) url.searchParams.set(key, value)
  return url.toString()
}

function decodeEntities(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|#39);/g, (_, name: string) => ({amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'"})[name] ?? '')
}

/** Reads the consent (or login) form the way a browser would: its action and hidden inputs. */
export function parseForm(html: string): {action: string; fields: Record<string, string>; buttons: Array<{name: string; value: string; label: string}>} {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/.exec(html)
  if (!form) throw new Error(`no form in page:\n${html}`)
  const fields: Record<string, string> = {}
  for (const input of form[2]!.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields[decodeEntities(input[1]!)] = decodeEntities(input[2]!)
  const buttons = [...form[2]!.matchAll(/<button type="submit" name="([^"]*)" value="([^"]*)"[^>]*>([^<]*)<\/button>/g)].map((match) => ({name: match[1]!, value: match[2]!, label: match[3]!}))
  return {action: decodeEntities(form[1]!), fields, buttons}
}

/** Follows redirects by hand (same-origin or not) until a page that is not a redirect: the provisioning consent page. */
export async function openConsent(url: string): Promise<Response> {
  let response = await get(url)
  for (let hops = 0; hops < 5 && response.status >= 300 && response.status < 400; hops++) response = await get(new URL(response.headers.get('location')!, url).href)
  return response
}

/** Clicks Authorize (`allow`) or Deny on a consent page. */
export async function submitConsent(page: Response, decision: 'allow' | 'deny', overrides: Record<string, string> = {}): Promise<Response> {
  const {action, fields} = parseForm(await page.text())
  return postForm(action, {...fields, ...overrides, decision})
}

/** Authorize, consent, and return the callback's query plus the PKCE verifier. */
export async function authorizeAndConsent(mock: MockServer, request: AuthorizeRequest = {}): Promise<{params: URLSearchParams; verifier: string; redirectUri: string}> {
  const {verifier, challenge} = pkce()
  const redirectUri = request.redirectUri ?? CALLBACK
  const page = await get(authorizeUrl(mock, {...request, challenge, redirectUri}))
  const response = page.status === 302 ? page : await submitConsent(page, 'allow')
  if (response.status !== 302) throw new Error(`authorize failed with HTTP ${response.status}: ${await response.text()}`)
  return {params: redirectParams(response), verifier, redirectUri}
}

export function tokenRequest(mock: MockServer, fields: Record<string, string>): Promise<Response> {
  return postForm(`${mock.issuer}/oauth/token/`, fields)
}

export interface TokenBody {
  access_token: string
  refresh_token: string
  token_type: string
  expires_in: number
  scope: string
  scoped_teams: number[]
  scoped_organizations: string[]
  id_token?: string
  [field: string]: unknown
}

/** A full login: authorize, consent, code exchange. */
export async function login(mock: MockServer, request: AuthorizeRequest = {}): Promise<TokenBody> {
  const {params, verifier, redirectUri} = await authorizeAndConsent(mock, request)
  const code = params.get('code')
  if (!code) throw new Error(`no code: ${params.toString()}`)
  const response = await tokenRequest(mock, {grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: request.clientId ?? US_CLIENT, code_verifier: verifier})
  if (response.status !== 200) throw new Error(`token exchange failed with HTTP ${response.status}: ${await response.text()}`)
  return (await response.json()) as TokenBody
}

export function refresh(mock: MockServer, refreshToken: string, extra: Record<string, string> = {}): Promise<Response> {
  return tokenRequest(mock, {grant_type: 'refresh_token', refresh_token: refreshToken, client_id: US_CLIENT, ...extra})
}

export function me(mock: MockServer, accessToken: string): Promise<Response> {
  return get(`${mock.issuer}/api/users/@me/`, bearer(accessToken))
}

/**
 * Self-introspection (`Authorization: Bearer T`, `token=T`), the only way a public client reads its grant
 * back from PostHog. A token that no longer exists (revoked, rotated away) is the bare 403: `{status: 403}`.
 */
export async function introspect(mock: MockServer, token: string): Promise<Record<string, unknown>> {
  const response = await postForm(`${mock.issuer}/oauth/introspect/`, {token}, bearer(token))
  if (response.status === 403) return {status: 403}
  return response.json() as Promise<Record<string, unknown>>
}

/** Scopes of a live access token, read through introspection (provisioning tokens carry no `scope`). */
export async function grantedScopes(mock: MockServer, accessToken: string): Promise<string[]> {
  const body = await introspect(mock, accessToken)
  if (body.active !== true) throw new Error('token is not active')
  return String(body.scope).split(' ')
}

export function accountRequest(mock: MockServer, body: Record<string, unknown>): Promise<Response> {
  return postJson(`${mock.issuer}/api/agentic/provisioning/account_requests`, {client_id: US_CLIENT, name: 'New Person', configuration: {region: 'US', organization_name: 'New Org'}, ...body}, {'API-Version': '0.1d'})
}

export function provisioningToken(mock: MockServer, fields: Record<string, string>): Promise<Response> {
  return postForm(`${mock.issuer}/api/agentic/oauth/token`, fields)
}

/** New-email signup through direct mint, then the code exchange. */
export async function signupTokens(mock: MockServer, {email, scopes}: {email: string; scopes?: string[]}): Promise<{access_token: string; refresh_token: string; [field: string]: unknown}> {
  const {verifier, challenge} = pkce()
  const request = await accountRequest(mock, {email, scopes, code_challenge: challenge, code_challenge_method: 'S256'})
  const body = (await request.json()) as {oauth?: {code: string}}
  if (!body.oauth) throw new Error(`expected a direct mint: ${JSON.stringify(body)}`)
  const response = await provisioningToken(mock, {grant_type: 'authorization_code', code: body.oauth.code, code_verifier: verifier})
  if (response.status !== 200) throw new Error(`provisioning token failed with HTTP ${response.status}: ${await response.text()}`)
  return (await response.json()) as {access_token: string; refresh_token: string}
}

/** Installs extra MSW handlers for this test (e.g. a stand-in for the CLI's loopback callback). */
export function useHandlers(...handlers: Parameters<typeof server.use>): void {
  server.use(...handlers)
}

export const CLIENT_REGISTRATION = '/api/agentic/provisioning/client_registration'
export const RESOURCES = '/api/agentic/provisioning/resources'

/** The typed provisioning envelope `{type:"error", error:{code,message}}` (plus any top-level extras). */
export async function typedErrorOf(response: Response): Promise<{status: number; code: string; message: string; body: Record<string, unknown>}> {
  const body = (await response.json()) as {type: string; error: {code: string; message: string}}
  if (body.type !== 'error') throw new Error(`not a typed error: ${JSON.stringify(body)}`)
  return {status: response.status, code: body.error.code, message: body.error.message, body}
}

/** The status envelope of the Bearer endpoints `{status:"error", id, error:{code,message}}`. */
export async function statusErrorOf(response: Response): Promise<{status: number; id: string; code: string; message: string}> {
  const body = (await response.json()) as {status: string; id: string; error: {code: string; message: string}}
  if (body.status !== 'error') throw new Error(`not a status error: ${JSON.stringify(body)}`)
  return {status: response.status, id: body.id, code: body.error.code, message: body.error.message}
}

/** The RateLimit-* headers, or null when the response charged no bucket. */
export function rateLimitOf(response: Response): {limit: number; remaining: number; reset: number} | null {
  const limit = response.headers.get('ratelimit-limit')
  if (limit === null) return null
  return {limit: Number(limit), remaining: Number(response.headers.get('ratelimit-remaining')), reset: Number(response.headers.get('ratelimit-reset'))}
}

/** Existing-account signup up to the consent URL (dev@example.com is seeded). */
export async function requireAuth(mock: MockServer, {email = DEFAULT_EMAIL, scopes = ['user:read', 'project:read']}: {email?: string; scopes?: string[]} = {}) {
  const {verifier, challenge} = pkce()
  const response = await accountRequest(mock, {id: 'req-1', email, scopes, code_challenge: challenge, code_challenge_method: 'S256'})
  const body = (await response.json()) as {id: string; type: string; requires_auth: {url: string}}
  return {response, body, verifier, state: new URL(body.requires_auth.url).searchParams.get('state')!}
}

const DEFAULT_EMAIL = 'dev@example.com'

/** New-email signup up to the code (not exchanged). */
export async function directMint(mock: MockServer, {email = 'new@example.com', scopes}: {email?: string; scopes?: string[]} = {}) {
  const {verifier, challenge} = pkce()
  const response = await accountRequest(mock, {id: 'req-new', email, scopes, code_challenge: challenge, code_challenge_method: 'S256'})
  const body = (await response.json()) as {oauth: {code: string}}
  return {code: body.oauth.code, verifier}
}

export function resourcesRequest(mock: MockServer, token: string | undefined, {path = '', body = {}, method = 'POST'}: {path?: string; body?: unknown; method?: 'GET' | 'POST'} = {}): Promise<Response> {
  const url = `${mock.issuer}${RESOURCES}${path}`
  const headers = token ? bearer(token) : {}
  return method === 'GET' ? get(url, headers) : postJson(url, body, headers)
}
