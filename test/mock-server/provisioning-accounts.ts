/**
 * Partners and accounts (server.md section 4.2): `client_registration` (the partner's checks, its ceiling
 * and flags) and `account_requests` (direct mint for a new email, a consent URL for an existing one), in
 * the check order of the spec.
 */
import {endpoint, json, provisioningError, readBody, stringParam, withQuery, type MockContext} from './http.js'
import {callerIp, chargeBucket, finishCharged, rateLimitedResponse, takeFixedWindow} from './rate-limits.js'
import {effectiveCeiling, formatScopes, parseScopeList, scopesOutsideProvisioningCeiling} from './scopes.js'
import {addUser, ceilingOf, findApp, findUser, recordEvent, type OAuthApp, type PendingConsent, type User} from './state.js'
import {CONSENT_TTL_SECONDS, createCode, isWellFormedPkceValue, randomState} from './tokens.js'

export const AUTHORIZE_PATH = '/api/agentic/authorize'
const NOT_REGISTERED = 'No provisioning client is registered for this client_id. Register it at POST /api/agentic/provisioning/client_registration'

/** Older servers required the header; a switch in the config brings that back. */
export function missingApiVersion(ctx: MockContext, request: Request): Response | undefined {
  if (!ctx.state.config.require_api_version || request.headers.get('api-version')) return undefined
  return provisioningError('invalid_request', 'API-Version header is required', 400)
}

interface Check {
  name: string
  ok: boolean
  detail: string
}

const NOT_A_PARTNER = 'This client is not enabled for agentic provisioning'
const BLOCKED = 'Provisioning is blocked for this client. Contact PostHog support if that is unexpected.'
const NO_JWKS = 'No jwks_uri, so this client authenticates with PKCE only and cannot use the GitHub grant endpoints'

/**
 * The registration checks with the names and details of ee/api/agentic_provisioning/views/client_registration.py
 * for an admin-registered (non-CIMD) client: `client_exists`, then `provisioning_enabled` (not a partner,
 * blocked, or deactivated), then `jwks` (always ok: the mock's apps publish no keys). Registration stops at
 * the first failure; the mock's clients never send a `client_assertion` check.
 */
function registrationChecks(app: OAuthApp | undefined): Check[] {
  if (!app) return [{name: 'client_exists', ok: false, detail: 'No client is registered with this client_id'}]
  const checks: Check[] = [{name: 'client_exists', ok: true, detail: 'Registered by a PostHog admin'}]
  const flags = app.provisioning
  const partner = flags.active || flags.can_create_accounts || flags.can_provision_resources
  if (app.blocked) return [...checks, {name: 'provisioning_enabled', ok: false, detail: BLOCKED}]
  if (!partner) return [...checks, {name: 'provisioning_enabled', ok: false, detail: NOT_A_PARTNER}]
  if (!flags.active) return [...checks, {name: 'provisioning_enabled', ok: false, detail: 'Provisioning is deactivated for this client'}]
  return [...checks, {name: 'provisioning_enabled', ok: true, detail: 'Active'}, {name: 'jwks', ok: true, detail: NO_JWKS}]
}

export function handleClientRegistration(ctx: MockContext): (args: {request: Request}) => Promise<Response> {
  return async ({request}) => {
    const versionError = missingApiVersion(ctx, request)
    if (versionError) return versionError
    const {state} = ctx
    state.counters.provisioning.client_registrations += 1
    const body = await readBody(request)
    if (!body.ok) return provisioningError('invalid_request', body.reason, 400)
    const clientId = stringParam(body.params, 'client_id')
    if (!clientId) return provisioningError('invalid_request', 'client_id: This field is required.', 400)
    const assertionType = stringParam(body.params, 'client_assertion_type')
    if (assertionType !== undefined && assertionType !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
      return provisioningError('invalid_request', 'client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer', 400)
    }
    const perClient = takeFixedWindow(state, {key: `client:${clientId}`, limit: state.config.registration_throttle.per_client_id})
    if (perClient !== undefined) return provisioningError('rate_limited', 'Too many registration checks for this client. Try again later.', 429, {'retry-after': String(perClient)})
    const perIp = takeFixedWindow(state, {key: `ip:${callerIp(request)}`, limit: state.config.registration_throttle.per_ip})
    if (perIp !== undefined) return provisioningError('rate_limited', 'Too many registration checks from this address. Try again later.', 429, {'retry-after': String(perIp)})

    const app = findApp(state, clientId)
    const checks = registrationChecks(app)
    const failed = checks.find((check) => !check.ok)
    if (!app || failed) {
      return provisioningError('registration_failed', failed!.detail, 400, {}, {client_id: clientId, registered: false, checks})
    }
    return json({
      client_id: app.client_id,
      registered: true,
      client_type: app.client_type,
      token_endpoint_auth_method: app.client_type === 'public' ? 'none' : 'client_secret_post',
      jwks_uri: null,
      // `ceiling_scopes` as stored (`@default` included): clients read it before creating an account.
      scopes: ceilingOf(app),
      provisioning: {active: app.provisioning.active, can_create_accounts: app.provisioning.can_create_accounts, can_provision_resources: app.provisioning.can_provision_resources},
      capabilities: {account_requests: app.provisioning.active && app.provisioning.can_create_accounts, github_grants: false, wizard_runs: false},
      checks,
    })
  }
}

/** `expires_at` / `terms_accepted_at`: ISO 8601 or Unix seconds; null or absent = omitted. */
function parseInstant(value: unknown): number | undefined | 'invalid' {
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value === 'number' && Number.isFinite(value)) return value * 1000
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value))) return Date.parse(value)
  return 'invalid'
}

const DATETIME_FORMAT = 'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].'

interface AccountRequest {
  email: string
  requestId: string | null
  name: string | undefined
  scopes: string[] | undefined
  codeChallenge: string | undefined
  codeChallengeMethod: string
  region: 'US' | 'EU'
  organizationName: string | undefined
}

/** AccountRequestSerializer: 400 `invalid_request` "<field>: <message>", `expired`, terms in the future. */
function validateAccountRequest(ctx: MockContext, params: Record<string, unknown>): AccountRequest | Response {
  const email = stringParam(params, 'email')?.trim()
  if (!email) return provisioningError('invalid_request', 'email is required', 400)
  if (params.scopes !== undefined && params.scopes !== null && !Array.isArray(params.scopes) && typeof params.scopes !== 'string') {
    return provisioningError('invalid_request', `scopes: Expected a list of items but got type "${typeof params.scopes}".`, 400)
  }
  const configuration = (params.configuration && typeof params.configuration === 'object' ? params.configuration : {}) as Record<string, unknown>
  const region = (stringParam(configuration, 'region') ?? 'US').toUpperCase()
  if (region !== 'US' && region !== 'EU') return provisioningError('invalid_request', `configuration: region: "${region}" is not a valid choice.`, 400)
  const expiresAt = parseInstant(params.expires_at)
  if (expiresAt === 'invalid') return provisioningError('invalid_request', `expires_at: ${DATETIME_FORMAT}`, 400)
  if (expiresAt !== undefined && expiresAt <= ctx.state.now()) return provisioningError('expired', 'Account request has expired', 400)
  const termsAt = parseInstant(params.terms_accepted_at)
  if (termsAt === 'invalid') return provisioningError('invalid_request', `terms_accepted_at: ${DATETIME_FORMAT}`, 400)
  if (termsAt !== undefined && termsAt > ctx.state.now()) {
    return provisioningError('invalid_request', "terms_accepted_at is in the future. Send the time the end user accepted PostHog's terms of service.", 400)
  }
  const scopes = parseScopeList(params.scopes)
  return {
    email,
    requestId: typeof params.id === 'string' ? params.id : null,
    name: stringParam(params, 'name'),
    scopes: scopes.length > 0 ? scopes : undefined,
    codeChallenge: stringParam(params, 'code_challenge'),
    codeChallengeMethod: stringParam(params, 'code_challenge_method') ?? 'S256',
    region,
    organizationName: stringParam(configuration, 'organization_name'),
  }
}

/** `client_id` sent as HTTP Basic (RFC 6749 section 2.3.1), the secret part empty for a public partner. */
function basicClientId(request: Request): string | undefined {
  const basic = /^Basic\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')
  if (!basic?.[1]) return undefined
  return decodeURIComponent(Buffer.from(basic[1], 'base64').toString('utf8').split(':')[0] ?? '') || undefined
}

function isBlocklisted(ctx: MockContext, email: string): boolean {
  const lower = email.toLowerCase()
  return ctx.state.config.email_blocklist.some((entry) => (entry.startsWith('@') ? lower.endsWith(entry.toLowerCase()) : lower === entry.toLowerCase()))
}

function pkceError(request: AccountRequest): Response | undefined {
  if (request.codeChallenge === undefined) return undefined
  if (request.codeChallengeMethod !== 'S256') return provisioningError('invalid_request', 'Only S256 code_challenge_method is supported', 400)
  if (!isWellFormedPkceValue(request.codeChallenge)) return provisioningError('invalid_request', 'code_challenge must be 43-128 characters using base64url charset', 400)
  return undefined
}

export function handleAccountRequest(ctx: MockContext): (args: {request: Request}) => Promise<Response> {
  return async ({request}) => {
    const versionError = missingApiVersion(ctx, request)
    if (versionError) return versionError
    const {state} = ctx
    state.counters.provisioning.account_requests += 1
    const body = await readBody(request)
    // 2. The partner (a bare client_id: public PKCE partner). Nothing is charged before it is known.
    const app = body.ok ? findApp(state, stringParam(body.params, 'client_id') ?? basicClientId(request)) : undefined
    if (!body.ok) return provisioningError('invalid_request', body.reason, 400)
    if (!app || app.blocked || !app.provisioning.active) return provisioningError('unauthorized', NOT_REGISTERED, 401)
    // 3. The body.
    const parsed = validateAccountRequest(ctx, body.params)
    if (parsed instanceof Response) return parsed
    // 4. Empty or missing scopes -> the effective ceiling, sorted (older servers: none at all, section 5 item 1).
    const scopes = parsed.scopes ?? (state.config.empty_signup_scopes === 'ceiling' ? [...effectiveCeiling(ceilingOf(app))].sort() : [])
    // 5.
    if (!app.provisioning.can_create_accounts) return provisioningError('forbidden', 'Account creation is not enabled for this partner', 403)
    // 6. The caller's daily cap (off unless configured).
    const cap = state.config.account_requests_per_ip_per_day
    const capWait = cap === null ? undefined : takeFixedWindow(state, {key: `account_requests_ip:${callerIp(request)}`, limit: cap, windowSeconds: 86400})
    if (capWait !== undefined) return provisioningError('rate_limited', 'Too many account requests from this caller. Try again later.', 429, {'retry-after': String(capWait)})
    // 7. The partner bucket; from here every answer carries the RateLimit-* headers.
    const charged = chargeBucket(state, {clientId: app.client_id, bucket: 'account_requests'})
    if (charged.limited) return finishCharged(state, charged.charge, rateLimitedResponse({retryAfter: charged.retryAfter, envelope: 'typed'}))
    return finishCharged(state, charged.charge, afterCharge(ctx, {app, request: parsed, scopes}))
  }
}

/** Steps 8-11 of the check order. */
function afterCharge(ctx: MockContext, {app, request, scopes}: {app: OAuthApp; request: AccountRequest; scopes: string[]}): Response {
  if (isBlocklisted(ctx, request.email)) return provisioningError('forbidden', 'Account creation is not available for this email address.', 403)
  const pkce = pkceError(request)
  if (pkce) return pkce
  const existing = findUser(ctx.state, request.email)
  return existing ? requireConsent(ctx, {app, user: existing, request, scopes}) : createAccountAndMintCode(ctx, {app, request, scopes})
}

/**
 * New email: user (unverified), organization and project created, code minted at once ("direct mint").
 * The scopes are NOT checked here: the token exchange checks them, after the account exists (section 5 item 4).
 */
function createAccountAndMintCode(ctx: MockContext, {app, request, scopes}: {app: OAuthApp; request: AccountRequest; scopes: string[]}): Response {
  const user = addUser(ctx.state, {
    email: request.email,
    first_name: request.name?.trim().split(/\s+/)[0],
    organization_name: request.organizationName ?? `${app.name} (${request.email})`,
    region: request.region,
    email_verified: false,
  })
  const code = createCode(ctx.state, {
    surface: 'provisioning',
    client_id: app.client_id,
    user_email: user.email,
    scopes,
    code_challenge: request.codeChallenge,
    scoped_teams: user.teams.map((team) => team.id),
  })
  ctx.state.counters.provisioning.accounts_created += 1
  recordEvent(ctx.state, 'provisioning.account_created', 'info', {client_id: app.client_id, email: user.email, scopes})
  return json({id: request.requestId, type: 'oauth', oauth: {code: code.code}})
}

/** Existing email [AC handle_existing_user]: the challenge BEFORE the ceiling, then a consent URL. */
function requireConsent(ctx: MockContext, {app, user, request, scopes}: {app: OAuthApp; user: User; request: AccountRequest; scopes: string[]}): Response {
  const withId = {id: request.requestId}
  if (!request.codeChallenge) return provisioningError('invalid_request', 'code_challenge is required for public clients', 400, {}, withId)
  const outside = scopesOutsideProvisioningCeiling({scopes, ceiling: ceilingOf(app)})
  if (outside.length > 0) {
    recordEvent(ctx.state, 'provisioning.account_request.invalid_scope', 'warn', {client_id: app.client_id, requested_scopes: scopes, missing_scopes: outside})
    return provisioningError('invalid_scope', "One or more requested scopes exceed the application's allowed scopes", 400, {}, withId)
  }
  // An earlier pending state for the same partner and email is discarded.
  for (const [key, pending] of ctx.state.consents) {
    if (pending.client_id === app.client_id && pending.user_email.toLowerCase() === user.email.toLowerCase()) ctx.state.consents.delete(key)
  }
  const consent: PendingConsent = {
    state: randomState(),
    request_id: request.requestId ?? '',
    client_id: app.client_id,
    user_email: user.email,
    scopes,
    code_challenge: request.codeChallenge,
    expires_at: ctx.state.now() + CONSENT_TTL_SECONDS * 1000,
  }
  ctx.state.consents.set(consent.state, consent)
  recordEvent(ctx.state, 'provisioning.requires_auth', 'info', {client_id: app.client_id, email: user.email})
  const url = withQuery(endpoint(ctx, AUTHORIZE_PATH), {state: consent.state, scope: formatScopes(scopes)})
  return json({id: request.requestId, type: 'requires_auth', requires_auth: {url}})
}
