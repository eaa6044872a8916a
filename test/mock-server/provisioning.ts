/**
 * The agentic provisioning API (server.md section 4): client_registration, account_requests (direct mint
 * for new emails, browser consent for existing ones), the consent page at /api/agentic/authorize, the
 * provisioning token endpoint (its own code-consumption order, refresh WITHOUT grace) and resources.
 * No trailing slashes here.
 */
import type {HttpHandler} from 'msw'

import {renderConsentPage, renderErrorPage} from './consent-page.js'
import {endpoint, html, json, oauthError, provisioningError, readBody, redirect, route, stringParam, tokenJson, withQuery, type MockContext} from './http.js'
import {effectiveCeiling, narrowOnRefresh, parseScopeList, scopesOutsideProvisioningCeiling} from './scopes.js'
import {addTeam, addUser, countGrant, findApp, findUser, recordEvent, type MockState, type OAuthApp, type PendingConsent, type User} from './state.js'
import {
  bearerToken,
  checkAccessToken,
  CONSENT_TTL_SECONDS,
  createCode,
  findRedeemableCode,
  isWellFormedPkceValue,
  issueTokenPair,
  randomState,
  rotateRefreshToken,
  secondsLeft,
  verifierMatches,
} from './tokens.js'

const AUTHORIZE_PATH = '/api/agentic/authorize'

/** Older servers required the header; a switch in the config brings that back. */
function missingApiVersion(ctx: MockContext, request: Request): Response | undefined {
  if (!ctx.state.config.require_api_version || request.headers.get('api-version')) return undefined
  return provisioningError('invalid_request', 'API-Version header is required', 400)
}

/**
 * Per-partner limits on account_requests: a burst (5 per minute) and a sustained rate (10 per hour),
 * measured on the mock's clock. Returns the seconds to wait, or undefined when the request may go on.
 */
export function takeRateLimitSlot(state: MockState, clientId: string): number | undefined {
  const limit = state.config.rate_limit
  if (!limit) return undefined
  const now = state.now()
  const bucket = (state.rateBuckets.get(clientId) ?? []).filter((at) => now - at < limit.sustained_window_seconds * 1000)
  state.rateBuckets.set(clientId, bucket)
  const inBurst = bucket.filter((at) => now - at < limit.burst_window_seconds * 1000)
  const waitUntil = (oldest: number, windowSeconds: number): number => Math.max(1, Math.ceil((oldest + windowSeconds * 1000 - now) / 1000))
  if (inBurst.length >= limit.burst) return waitUntil(inBurst[0]!, limit.burst_window_seconds)
  if (bucket.length >= limit.sustained) return waitUntil(bucket[0]!, limit.sustained_window_seconds)
  bucket.push(now)
  return undefined
}

function handleClientRegistration(ctx: MockContext): (args: {request: Request}) => Promise<Response> {
  return async ({request}) => {
    const versionError = missingApiVersion(ctx, request)
    if (versionError) return versionError
    const body = await readBody(request)
    const app = body.ok ? findApp(ctx.state, stringParam(body.params, 'client_id')) : undefined
    if (!app) return provisioningError('registration_failed', 'Unknown client_id: no OAuth application is registered with it.', 400)
    // `scopes` is the ceiling as stored (`@default` included): clients read it before creating an account.
    return json({client_id: app.client_id, registered: true, name: app.name, scopes: [...app.scopes], provisioning: {...app.provisioning}})
  }
}

function requestedSignupScopes(state: MockState, app: OAuthApp, value: unknown): string[] {
  const scopes = parseScopeList(value)
  if (scopes.length > 0) return scopes
  // Today's server fills in the ceiling; older ones minted a code with no scopes at all (server.md section 5 item 1).
  return state.config.empty_signup_scopes === 'ceiling' ? effectiveCeiling(app.scopes) : []
}

function handleAccountRequest(ctx: MockContext): (args: {request: Request}) => Promise<Response> {
  return async ({request}) => {
    const versionError = missingApiVersion(ctx, request)
    if (versionError) return versionError
    const body = await readBody(request)
    if (!body.ok) return provisioningError('invalid_request', body.reason, 400)
    const {params} = body
    const email = stringParam(params, 'email')?.trim()
    if (!email) return provisioningError('invalid_request', 'email is required', 400)
    const app = findApp(ctx.state, stringParam(params, 'client_id'))
    if (!app || !app.provisioning.active) return provisioningError('unauthorized', 'client_id is not an active provisioning partner', 401)
    const retryAfter = takeRateLimitSlot(ctx.state, app.client_id)
    if (retryAfter !== undefined) return provisioningError('rate_limited', 'Too many account requests; retry later.', 429, {'retry-after': String(retryAfter)})

    const codeChallenge = stringParam(params, 'code_challenge')
    if (codeChallenge !== undefined) {
      if (stringParam(params, 'code_challenge_method') !== 'S256') return provisioningError('invalid_request', 'code_challenge_method must be S256', 400)
      if (!isWellFormedPkceValue(codeChallenge)) return provisioningError('invalid_request', 'code_challenge must be 43-128 base64url characters', 400)
    }
    const scopes = requestedSignupScopes(ctx.state, app, params.scopes)
    const requestId = stringParam(params, 'id') ?? `acctreq_${randomState()}`
    const existing = findUser(ctx.state, email)
    return existing
      ? requireConsent(ctx, {app, user: existing, scopes, codeChallenge, requestId})
      : createAccountAndMintCode(ctx, {app, email, params, scopes, codeChallenge, requestId})
  }
}

/**
 * New email: account + project created, code minted at once ("direct mint"). The scopes are NOT checked
 * here: the token exchange checks them, after the account exists (server.md section 5 item 4).
 */
function createAccountAndMintCode(
  ctx: MockContext,
  {app, email, params, scopes, codeChallenge, requestId}: {app: OAuthApp; email: string; params: Record<string, unknown>; scopes: string[]; codeChallenge: string | undefined; requestId: string},
): Response {
  if (!app.provisioning.can_create_accounts) return provisioningError('forbidden', 'This partner may not create accounts', 403)
  const configuration = (params.configuration && typeof params.configuration === 'object' ? params.configuration : {}) as Record<string, unknown>
  const region = stringParam(configuration, 'region')?.toUpperCase()
  const user = addUser(ctx.state, {
    email,
    first_name: stringParam(params, 'name'),
    organization_name: stringParam(configuration, 'organization_name'),
    region: region === 'EU' || region === 'US' ? region : undefined,
  })
  const code = createCode(ctx.state, {surface: 'provisioning', client_id: app.client_id, user_email: user.email, scopes, code_challenge: codeChallenge})
  recordEvent(ctx.state, 'provisioning.account_created', 'info', {client_id: app.client_id, email: user.email, scopes})
  return json({id: requestId, type: 'oauth', oauth: {code: code.code}})
}

/** Existing email: ceiling first, then PKCE, then a consent URL for the browser. */
function requireConsent(
  ctx: MockContext,
  {app, user, scopes, codeChallenge, requestId}: {app: OAuthApp; user: User; scopes: string[]; codeChallenge: string | undefined; requestId: string},
): Response {
  const outside = scopesOutsideProvisioningCeiling({scopes, ceiling: app.scopes})
  if (outside.length > 0) {
    recordEvent(ctx.state, 'provisioning.account_request.invalid_scope', 'warn', {client_id: app.client_id, requested_scopes: scopes, missing_scopes: outside})
    return provisioningError('invalid_scope', "One or more requested scopes exceed the application's allowed scopes", 400)
  }
  if (!codeChallenge) return provisioningError('invalid_request', 'code_challenge is required to authorize an existing account', 400)
  const consent: PendingConsent = {
    state: randomState(),
    request_id: requestId,
    client_id: app.client_id,
    user_email: user.email,
    scopes,
    code_challenge: codeChallenge,
    expires_at: ctx.state.now() + CONSENT_TTL_SECONDS * 1000,
  }
  ctx.state.consents.set(consent.state, consent)
  recordEvent(ctx.state, 'provisioning.requires_auth', 'info', {client_id: app.client_id, email: user.email})
  return json({id: requestId, type: 'requires_auth', requires_auth: {url: withQuery(endpoint(ctx, AUTHORIZE_PATH), {state: consent.state})}})
}

function pendingConsent(ctx: MockContext, state: string | undefined): {consent: PendingConsent; app: OAuthApp; redirectUri: string} | undefined {
  const consent = state ? ctx.state.consents.get(state) : undefined
  if (!consent || ctx.state.now() >= consent.expires_at) return undefined
  const app = findApp(ctx.state, consent.client_id)
  const redirectUri = app?.redirect_uris[0]
  return app && redirectUri ? {consent, app, redirectUri} : undefined
}

const INVALID_CONSENT = (): Response =>
  html(renderErrorPage({title: 'Authorization link expired', message: 'This authorization link is invalid, already used or expired. Start the signup again.'}), 400)

/** The consent outcome goes to the app's FIRST registered redirect URI, with the state of the consent URL. */
function finishConsent(ctx: MockContext, {consent, redirectUri}: {consent: PendingConsent; redirectUri: string}, allow: boolean): Response {
  ctx.state.consents.delete(consent.state)
  if (!allow) {
    recordEvent(ctx.state, 'provisioning.consent_denied', 'info', {client_id: consent.client_id})
    return redirect(withQuery(redirectUri, {error: 'access_denied', state: consent.state}))
  }
  const code = createCode(ctx.state, {surface: 'provisioning', client_id: consent.client_id, user_email: consent.user_email, scopes: consent.scopes, code_challenge: consent.code_challenge})
  recordEvent(ctx.state, 'provisioning.consent_approved', 'info', {client_id: consent.client_id})
  return redirect(withQuery(redirectUri, {code: code.code, state: consent.state}))
}

function consentHandlers(ctx: MockContext): HttpHandler[] {
  return [
    route(ctx, 'GET', AUTHORIZE_PATH, 'none', ({url}) => {
      const pending = pendingConsent(ctx, url.searchParams.get('state') ?? undefined)
      if (!pending) return INVALID_CONSENT()
      if (!ctx.state.config.signed_in) return redirect(withQuery(endpoint(ctx, '/login'), {next: `${url.pathname}${url.search}`}))
      if (ctx.state.config.auto_approve) return finishConsent(ctx, pending, true)
      return html(
        renderConsentPage({
          appName: pending.app.name,
          // The mock's browser session belongs to the account being authorized.
          userEmail: pending.consent.user_email,
          scopes: pending.consent.scopes,
          action: endpoint(ctx, AUTHORIZE_PATH),
          fields: {state: pending.consent.state},
        }),
      )
    }),
    route(ctx, 'POST', AUTHORIZE_PATH, 'none', async ({request}) => {
      const body = await readBody(request)
      const pending = body.ok ? pendingConsent(ctx, stringParam(body.params, 'state')) : undefined
      if (!body.ok || !pending) return INVALID_CONSENT()
      return finishConsent(ctx, pending, stringParam(body.params, 'decision') === 'allow')
    }),
  ]
}

/**
 * grant_type=authorization_code, in the server's order: unknown code; missing verifier (401, code kept);
 * wrong verifier (code kept); from here on the code is consumed: no scopes; scopes outside the ceiling.
 */
function redeemProvisioningCode(ctx: MockContext, params: Record<string, unknown>): Response {
  const code = findRedeemableCode(ctx.state, stringParam(params, 'code'), 'provisioning')
  if (!code) return oauthError('invalid_grant', 'Invalid or expired authorization code')
  const verifier = stringParam(params, 'code_verifier')
  if (code.code_challenge !== undefined) {
    if (!verifier) return oauthError('invalid_request', 'code_verifier is required for PKCE', 401)
    if (!verifierMatches({verifier, challenge: code.code_challenge})) return oauthError('invalid_grant', 'PKCE code_verifier does not match')
  }
  code.used = true
  if (code.scopes.length === 0) return oauthError('invalid_scope', 'Authorization code carries no scopes; re-authorize.')
  const app = findApp(ctx.state, code.client_id)
  const outside = app ? scopesOutsideProvisioningCeiling({scopes: code.scopes, ceiling: app.scopes}) : code.scopes
  if (!app || outside.length > 0) {
    recordEvent(ctx.state, 'provisioning.token.invalid_scope', 'warn', {client_id: code.client_id, requested_scopes: code.scopes, missing_scopes: outside})
    return oauthError('invalid_scope', "Requested scopes exceed the application's allowed scopes")
  }
  const user = findUser(ctx.state, code.user_email)
  if (!user) return oauthError('invalid_grant', 'Invalid or expired authorization code')
  const pair = issueTokenPair(ctx.state, {surface: 'provisioning', client_id: app.client_id, user_email: user.email, scopes: code.scopes})
  countGrant(ctx.state, 'provisioning:authorization_code')
  // No `scope` field: the client cannot see what was granted (server.md section 4).
  return tokenJson({
    token_type: 'bearer',
    access_token: pair.access.token,
    refresh_token: pair.refresh.token,
    expires_in: secondsLeft(ctx.state, pair.access.expires_at),
    account: {
      id: user.uuid,
      available_teams: user.teams.map((team) => ({id: team.id, name: team.name, organization_id: user.organization.id, organization_name: user.organization.name})),
    },
  })
}

/** Rotation with NO grace period: a replayed refresh token is simply refused (server.md section 5 item 6). */
function refreshProvisioningToken(ctx: MockContext, params: Record<string, unknown>): Response {
  const value = stringParam(params, 'refresh_token')
  const old = value ? ctx.state.refreshTokens.get(value) : undefined
  const dead = !old || old.surface !== 'provisioning' || old.rotated_at !== undefined || old.revoked_at !== undefined || ctx.state.revokedFamilies.has(old.family)
  if (dead || ctx.state.now() >= old.expires_at) return oauthError('invalid_grant', 'Invalid or revoked refresh token')
  const app = findApp(ctx.state, old.client_id)
  const narrowing = app ? narrowOnRefresh({scopes: old.scopes, ceiling: app.scopes}) : ({ok: false, lost: old.scopes} as const)
  if (!narrowing.ok) return oauthError('invalid_grant', "Token scopes are no longer within the application's allowed scopes; re-authorize.")
  if (narrowing.lost.length > 0) recordEvent(ctx.state, 'provisioning.token.refresh_narrowed', 'info', {client_id: old.client_id, lost_scopes: narrowing.lost})
  const pair = rotateRefreshToken(ctx.state, old, narrowing.scopes)
  countGrant(ctx.state, 'provisioning:refresh_token')
  return tokenJson({token_type: 'bearer', access_token: pair.access.token, refresh_token: pair.refresh.token, expires_in: secondsLeft(ctx.state, pair.access.expires_at)})
}

function handleProvisioningToken(ctx: MockContext): (args: {request: Request}) => Promise<Response> {
  return async ({request}) => {
    const body = await readBody(request)
    if (!body.ok) return oauthError('invalid_request', body.reason)
    const grantType = stringParam(body.params, 'grant_type')
    if (grantType === 'authorization_code') return redeemProvisioningCode(ctx, body.params)
    if (grantType === 'refresh_token') return refreshProvisioningToken(ctx, body.params)
    return grantType ? oauthError('unsupported_grant_type', `Unsupported grant_type: ${grantType}.`) : oauthError('invalid_request', 'Missing grant_type parameter.')
  }
}

const RESOURCE_401: Record<string, string> = {
  missing: 'Authentication credentials were not provided',
  unknown: 'Invalid access token',
  revoked: 'Access token revoked',
  expired: 'Access token expired',
}

function handleResources(ctx: MockContext): (args: {request: Request}) => Promise<Response> {
  return async ({request}) => {
    const versionError = missingApiVersion(ctx, request)
    if (versionError) return versionError
    const check = checkAccessToken(ctx.state, bearerToken(request))
    const user = check.ok ? findUser(ctx.state, check.token.user_email) : undefined
    if (!check.ok || !user) return provisioningError('unauthorized', RESOURCE_401[check.ok ? 'unknown' : check.reason]!, 401)
    const app = findApp(ctx.state, check.token.client_id)
    if (!app?.provisioning.active || !app.provisioning.can_provision_resources) return provisioningError('forbidden', 'This partner may not provision resources', 403)
    const body = await readBody(request)
    if (!body.ok) return provisioningError('invalid_request', body.reason, 400)
    const configuration = (body.params.configuration && typeof body.params.configuration === 'object' ? body.params.configuration : {}) as Record<string, unknown>
    const team = addTeam(ctx.state, user, stringParam(configuration, 'project_name') ?? 'Default project')
    recordEvent(ctx.state, 'provisioning.resources_created', 'info', {client_id: app.client_id, team_id: team.id})
    return json({status: 'complete', id: String(team.id), complete: {access_configuration: {api_key: team.api_token, host: ctx.issuer}}})
  }
}

export function provisioningHandlers(ctx: MockContext): HttpHandler[] {
  return [
    route(ctx, 'POST', '/api/agentic/provisioning/client_registration', 'none', handleClientRegistration(ctx)),
    route(ctx, 'POST', '/api/agentic/provisioning/account_requests', 'none', handleAccountRequest(ctx)),
    route(ctx, 'POST', '/api/agentic/oauth/token', 'none', handleProvisioningToken(ctx)),
    route(ctx, 'POST', '/api/agentic/provisioning/resources', 'none', handleResources(ctx)),
    ...consentHandlers(ctx),
  ]
}
