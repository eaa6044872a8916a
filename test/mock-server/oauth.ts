/**
 * The standard OAuth endpoints besides authorize (server.md section 3): `/oauth/token` (code with PKCE,
 * refresh with rotation, grace period, reuse detection, narrowing), `/oauth/revoke` (RFC 7009),
 * and `/oauth/register` (RFC 7591); introspection is in introspection.ts.
 */
import type {HttpHandler} from 'msw'

import {cloudFields, json, oauthError, readBody, route, stringParam, tokenJson, type MockContext} from './http.js'
import {formatScopes, narrowOnRefresh, parseScopeParameter, UNPRIVILEGED_SCOPES} from './scopes.js'
import {ceilingOf, countGrant, findApp, findUser, nowSeconds, recordEvent, type OAuthApp, type User} from './state.js'
import {
  findRedeemableCode,
  issueTokenPair,
  randomClientId,
  REFRESH_GRACE_SECONDS,
  revokeFamily,
  revokeSession,
  rotateRefreshToken,
  secondsLeft,
  verifierMatches,
  type TokenPair,
} from './tokens.js'

const CODE_INVALID = 'Authorization code is invalid or has already been used'
const NOTHING_LEFT = "Token scopes are no longer within the application's allowed scopes; re-authorize."

/** Client identification for public clients: `client_id` in the body, or HTTP Basic (client_secret_basic style). */
export function requestClientId(request: Request, params: Record<string, unknown>): string | undefined {
  const fromBody = stringParam(params, 'client_id')
  if (fromBody) return fromBody
  const basic = /^Basic\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')
  if (!basic?.[1]) return undefined
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8')
  return decodeURIComponent(decoded.split(':')[0] ?? '') || undefined
}

/** The success body of server.md section 3, plus an OIDC id_token when `openid` was granted. */
export function tokenResponse(ctx: MockContext, {pair, user, nonce}: {pair: TokenPair; user: User; nonce?: string | undefined}): Response {
  const body: Record<string, unknown> = {
    access_token: pair.access.token,
    token_type: 'Bearer',
    expires_in: secondsLeft(ctx.state, pair.access.expires_at),
    scope: formatScopes(pair.access.scopes),
    refresh_token: pair.refresh.token,
    scoped_teams: user.teams.map((team) => team.id),
    scoped_organizations: [user.organization.id],
    ...cloudFields(ctx.issuer),
  }
  if (pair.access.scopes.includes('openid')) body.id_token = idToken(ctx, {user, clientId: pair.access.client_id, nonce})
  return tokenJson(body)
}

/** OIDC Core section 2 claims, signed RS256 with the key published at jwks_uri. */
function idToken(ctx: MockContext, {user, clientId, nonce}: {user: User; clientId: string; nonce: string | undefined}): string {
  const iat = nowSeconds(ctx.state)
  return ctx.signer.sign({
    iss: ctx.issuer,
    sub: user.uuid,
    aud: clientId,
    iat,
    exp: iat + 3600,
    email: user.email,
    email_verified: true,
    name: user.first_name,
    ...(nonce ? {nonce} : {}),
  })
}

/** grant_type=authorization_code: code, client, PKCE verifier, then the redirect_uri of the authorize request. */
function redeemAuthorizationCode(ctx: MockContext, app: OAuthApp, params: Record<string, unknown>): Response {
  const value = stringParam(params, 'code')
  if (!value) return oauthError('invalid_request', 'Missing code parameter.')
  const code = findRedeemableCode(ctx.state, value, 'oauth')
  if (!code || code.client_id !== app.client_id) return oauthError('invalid_grant', CODE_INVALID)
  const verifier = stringParam(params, 'code_verifier')
  if (!verifier) return oauthError('invalid_request', 'Code verifier required.')
  if (!code.code_challenge || !verifierMatches({verifier, challenge: code.code_challenge})) return oauthError('invalid_grant', 'Code verifier does not match the code challenge.')
  if (stringParam(params, 'redirect_uri') !== code.redirect_uri) return oauthError('invalid_grant', 'Mismatching redirect URI.')
  const user = findUser(ctx.state, code.user_email)
  if (!user) return oauthError('invalid_grant', CODE_INVALID)
  code.used = true
  const pair = issueTokenPair(ctx.state, {surface: 'oauth', client_id: app.client_id, user_email: user.email, scopes: code.scopes})
  countGrant(ctx.state, 'authorization_code')
  return tokenResponse(ctx, {pair, user, nonce: code.nonce})
}

/**
 * grant_type=refresh_token: rotation; a rotated token replayed within 120 s gets the pair its rotation
 * issued (django-oauth-toolkit's grace period), later its replay revokes the whole family. The scope is
 * narrowed to the app's current ceiling.
 */
function refreshTokens(ctx: MockContext, app: OAuthApp, params: Record<string, unknown>): Response {
  const value = stringParam(params, 'refresh_token')
  if (!value) return oauthError('invalid_request', 'Missing refresh_token parameter.')
  const old = ctx.state.refreshTokens.get(value)
  if (!old || old.surface !== 'oauth' || old.client_id !== app.client_id) return oauthError('invalid_grant', 'Invalid refresh token.')
  if (old.revoked_at !== undefined || ctx.state.revokedFamilies.has(old.family)) return oauthError('invalid_grant', 'Refresh token has been revoked.')
  if (ctx.state.now() >= old.expires_at) return oauthError('invalid_grant', 'Refresh token has expired.')
  const user = findUser(ctx.state, old.user_email)
  if (!user) return oauthError('invalid_grant', 'Invalid refresh token.')

  if (old.rotated_at !== undefined) {
    const successor = old.replaced_by ? ctx.state.refreshTokens.get(old.replaced_by) : undefined
    const successorAccess = successor ? ctx.state.accessTokens.get(successor.access_token) : undefined
    if (ctx.state.now() - old.rotated_at <= REFRESH_GRACE_SECONDS * 1000 && successor && successorAccess) {
      recordEvent(ctx.state, 'oauth.token.refresh_grace_replay', 'info', {client_id: app.client_id})
      countGrant(ctx.state, 'refresh_token')
      return tokenResponse(ctx, {pair: {access: successorAccess, refresh: successor}, user})
    }
    revokeFamily(ctx.state, old.family)
    recordEvent(ctx.state, 'oauth.token.refresh_reuse_detected', 'warn', {client_id: app.client_id, family: old.family})
    return oauthError('invalid_grant', 'Refresh token has already been used; every token of this grant has been revoked.')
  }

  // RFC 6749 section 6: an optional `scope` may only narrow the original grant.
  const asked = parseScopeParameter(stringParam(params, 'scope'))
  const beyond = asked.filter((scope) => !old.scopes.includes(scope))
  if (beyond.length > 0) return oauthError('invalid_scope', `The requested scope exceeds the original grant: ${formatScopes(beyond)}`)
  const narrowing = narrowOnRefresh({scopes: asked.length > 0 ? asked : old.scopes, ceiling: ceilingOf(app)})
  if (!narrowing.ok) {
    recordEvent(ctx.state, 'oauth.token.refresh_refused_out_of_ceiling', 'warn', {client_id: app.client_id, lost_scopes: narrowing.lost})
    return oauthError('invalid_grant', NOTHING_LEFT)
  }
  if (narrowing.lost.length > 0) recordEvent(ctx.state, 'oauth.token.refresh_narrowed', 'info', {client_id: app.client_id, lost_scopes: narrowing.lost})
  const pair = rotateRefreshToken(ctx.state, old, narrowing.scopes)
  countGrant(ctx.state, 'refresh_token')
  return tokenResponse(ctx, {pair, user})
}

function handleToken(ctx: MockContext): (args: {request: Request}) => Promise<Response> {
  return async ({request}) => {
    const body = await readBody(request)
    if (!body.ok) return oauthError('invalid_request', body.reason)
    const grantType = stringParam(body.params, 'grant_type')
    if (!grantType) return oauthError('invalid_request', 'Missing grant_type parameter.')
    if (grantType !== 'authorization_code' && grantType !== 'refresh_token') return oauthError('unsupported_grant_type', `Unsupported grant_type: ${grantType}.`)
    const app = findApp(ctx.state, requestClientId(request, body.params))
    if (!app) return oauthError('invalid_client', 'Client authentication failed.', 401)
    return grantType === 'authorization_code' ? redeemAuthorizationCode(ctx, app, body.params) : refreshTokens(ctx, app, body.params)
  }
}

/**
 * RFC 7009: 200 for known and unknown tokens alike. Revoking one token of a user's session with an app
 * revokes them all: every access and refresh token and every unused code of that (user, application) pair,
 * both surfaces (posthog/models/oauth.py `revoke_oauth_session`, which the RFC 7009 `revoke_token` path uses).
 */
function handleRevoke(ctx: MockContext): (args: {request: Request}) => Promise<Response> {
  return async ({request}) => {
    const body = await readBody(request)
    if (!body.ok) return oauthError('invalid_request', body.reason)
    const token = stringParam(body.params, 'token')
    if (!token) return oauthError('invalid_request', 'Missing token parameter.')
    const app = findApp(ctx.state, requestClientId(request, body.params))
    if (!app) return oauthError('invalid_client', 'Client authentication failed.', 401)
    const found = ctx.state.accessTokens.get(token) ?? ctx.state.refreshTokens.get(token)
    if (found && found.client_id === app.client_id) {
      const revoked = revokeSession(ctx.state, {client_id: app.client_id, user_email: found.user_email})
      if (revoked > 0) ctx.state.counters.revocations += 1
      recordEvent(ctx.state, 'oauth.revoke', 'info', {client_id: app.client_id, token_type: ctx.state.accessTokens.has(token) ? 'access_token' : 'refresh_token', tokens_revoked: revoked})
    }
    return new Response(null, {status: 200, headers: {'cache-control': 'no-store'}})
  }
}

function isAbsoluteUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false
  try {
    new URL(value)
    return true
  } catch {
    return false
  }
}

/** RFC 7591 dynamic registration: public clients only, ceiling filtered to UNPRIVILEGED (server.md section 3). */
function handleRegister(ctx: MockContext): (args: {request: Request}) => Promise<Response> {
  return async ({request}) => {
    const body = await readBody(request)
    if (!body.ok) return oauthError('invalid_client_metadata', body.reason)
    const {params} = body
    const redirectUris = params.redirect_uris
    if (!Array.isArray(redirectUris) || redirectUris.length === 0 || !redirectUris.every(isAbsoluteUrl)) {
      return oauthError('invalid_redirect_uri', 'redirect_uris is required: a non-empty list of absolute URIs.')
    }
    const authMethod = stringParam(params, 'token_endpoint_auth_method') ?? 'none'
    if (authMethod !== 'none') return oauthError('invalid_client_metadata', `token_endpoint_auth_method must be "none" (public client), not "${authMethod}".`)
    const grantTypes = Array.isArray(params.grant_types) ? params.grant_types : ['authorization_code', 'refresh_token']
    const unsupported = grantTypes.filter((grant) => grant !== 'authorization_code' && grant !== 'refresh_token')
    if (unsupported.length > 0) return oauthError('invalid_client_metadata', `Unsupported grant_types: ${unsupported.join(', ')}.`)
    const requested = stringParam(params, 'scope')
    const ceiling = requested === undefined ? [...UNPRIVILEGED_SCOPES] : parseScopeParameter(requested).filter((scope) => UNPRIVILEGED_SCOPES.includes(scope))
    if (ceiling.length === 0) return oauthError('invalid_client_metadata', 'None of the requested scopes can be granted to a self-registered client.')
    const app: OAuthApp = {
      client_id: randomClientId(),
      name: stringParam(params, 'client_name') ?? 'Unnamed client',
      redirect_uris: [...(redirectUris as string[])],
      scopes: ceiling,
      optional_scopes: [],
      client_type: 'public',
      client_secret: undefined,
      first_party: false,
      provisioning: {active: false, can_create_accounts: false, can_provision_resources: false, issues_personal_api_key: false},
      registered_via: 'dcr',
      blocked: false,
      sessions_revoked_at: undefined,
    }
    ctx.state.apps.set(app.client_id, app)
    recordEvent(ctx.state, 'oauth.register', 'info', {client_id: app.client_id, scopes: ceiling.length})
    return json(
      {
        client_id: app.client_id,
        client_id_issued_at: nowSeconds(ctx.state),
        client_name: app.name,
        redirect_uris: app.redirect_uris,
        grant_types: grantTypes,
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        scope: formatScopes(ceiling),
      },
      201,
    )
  }
}

export function oauthHandlers(ctx: MockContext): HttpHandler[] {
  return [
    route(ctx, 'POST', '/oauth/token', 'optional', handleToken(ctx)),
    route(ctx, 'POST', '/oauth/revoke', 'optional', handleRevoke(ctx)),
    route(ctx, 'POST', '/oauth/register', 'optional', handleRegister(ctx)),
  ]
}
