/**
 * `POST /api/agentic/oauth/token` (server.md section 4.2, [T]): the code exchange in the spec's check
 * order (the verifier mismatch keeps the code; the code is consumed before the `token_exchanges` charge),
 * refresh WITHOUT grace (old refresh revoked, old access token deleted at once), typed 429s, and the
 * `RateLimit-*` headers once a bucket was charged. Public partners only: PKCE is the proof.
 */
import {oauthError, readBody, stringParam, tokenJson, type MockContext} from './http.js'
import {chargeBucket, finishCharged, rateLimitedResponse} from './rate-limits.js'
import {narrowOnRefresh, scopesOutsideProvisioningCeiling} from './scopes.js'
import {ceilingOf, countGrant, findApp, findTeam, findUser, recordEvent, type MockState, type OAuthApp, type User} from './state.js'
import {findRedeemableCode, issueTokenPair, rotateProvisioningRefreshToken, secondsLeft, verifierMatches} from './tokens.js'

const SESSIONS_REVOKED = 'Application sessions were revoked; re-authorize.'

/** Teams of the grant that still exist. */
function accessibleTeams(state: MockState, scopedTeams: number[] | undefined, user: User): number[] {
  const ids = scopedTeams ?? user.teams.map((team) => team.id)
  return ids.filter((id) => findTeam(state, id) !== undefined)
}

function revokedSince(app: OAuthApp, issuedAt: number): boolean {
  return app.sessions_revoked_at !== undefined && issuedAt <= app.sessions_revoked_at
}

/** grant_type=authorization_code, row by row of the spec's table. */
async function redeemProvisioningCode(ctx: MockContext, params: Record<string, unknown>): Promise<Response> {
  const {state} = ctx
  const value = stringParam(params, 'code')
  if (!value) return oauthError('invalid_request', 'code is required')
  const code = findRedeemableCode(state, value, 'provisioning')
  if (!code) return oauthError('invalid_grant', 'Invalid or expired authorization code')
  if (code.code_challenge === undefined) return oauthError('invalid_request', 'Authentication required', 401)
  const verifier = stringParam(params, 'code_verifier')
  if (!verifier) return oauthError('invalid_request', 'code_verifier is required for PKCE', 401)
  if (!verifierMatches({verifier, challenge: code.code_challenge})) return oauthError('invalid_grant', 'PKCE code_verifier does not match')
  const app = findApp(state, code.client_id)
  if (!app) return oauthError('invalid_grant', 'Unknown application for this authorization code')
  code.used = true
  const charged = chargeBucket(state, {clientId: app.client_id, bucket: 'token_exchanges'})
  if (charged.limited) return finishCharged(state, charged.charge, rateLimitedResponse({retryAfter: charged.retryAfter, envelope: 'typed'}))
  return finishCharged(state, charged.charge, mintForCode(ctx, {app, code}))
}

function mintForCode(ctx: MockContext, {app, code}: {app: OAuthApp; code: NonNullable<ReturnType<typeof findRedeemableCode>>}): Response {
  const {state} = ctx
  const user = findUser(state, code.user_email)
  if (!user) return oauthError('invalid_grant', 'User not found')
  if (revokedSince(app, code.issued_at)) return oauthError('invalid_grant', SESSIONS_REVOKED)
  if (code.scopes.length === 0) return oauthError('invalid_scope', 'Authorization code carries no scopes; re-authorize.')
  const outside = scopesOutsideProvisioningCeiling({scopes: code.scopes, ceiling: ceilingOf(app)})
  if (outside.length > 0) {
    recordEvent(state, 'provisioning.token.invalid_scope', 'warn', {client_id: code.client_id, requested_scopes: code.scopes, missing_scopes: outside})
    return oauthError('invalid_scope', "Requested scopes exceed the application's allowed scopes")
  }
  const teams = accessibleTeams(state, code.scoped_teams, user)
  if (teams.length === 0) return oauthError('invalid_grant', 'No accessible teams for this authorization; re-authorize.')
  const pair = issueTokenPair(state, {surface: 'provisioning', client_id: app.client_id, user_email: user.email, scopes: code.scopes, scoped_teams: teams})
  countGrant(state, 'provisioning:authorization_code')
  // No `scope` field: the client cannot see what was granted (server.md section 4); introspection can.
  return tokenJson({
    token_type: 'bearer',
    access_token: pair.access.token,
    refresh_token: pair.refresh.token,
    expires_in: secondsLeft(state, pair.access.expires_at),
    account: {
      id: user.organization.id,
      payment_credentials: 'orchestrator',
      available_teams: teams.map((id) => {
        const team = findTeam(state, id)!.team
        return {id: team.id, name: team.name, organization_id: user.organization.id, organization_name: user.organization.name}
      }),
    },
  })
}

/** grant_type=refresh_token: single-use rotation with NO grace period (section 5 item 6). */
async function refreshProvisioningToken(ctx: MockContext, params: Record<string, unknown>): Promise<Response> {
  const {state} = ctx
  const value = stringParam(params, 'refresh_token')
  if (!value) return oauthError('invalid_request', 'refresh_token is required')
  const old = state.refreshTokens.get(value)
  const dead = !old || old.surface !== 'provisioning' || old.rotated_at !== undefined || old.revoked_at !== undefined || state.revokedFamilies.has(old.family)
  const app = old ? findApp(state, old.client_id) : undefined
  const user = old ? findUser(state, old.user_email) : undefined
  if (dead || !app || !user) return oauthError('invalid_grant', 'Invalid or revoked refresh token')
  if (accessibleTeams(state, old.scoped_teams, user).length === 0) return oauthError('invalid_grant', 'No accessible teams for this token; re-authorize.')
  if (revokedSince(app, old.issued_at)) return oauthError('invalid_grant', SESSIONS_REVOKED)
  const narrowing = narrowOnRefresh({scopes: old.scopes, ceiling: ceilingOf(app)})
  if (!narrowing.ok) return oauthError('invalid_grant', "Token scopes are no longer within the application's allowed scopes; re-authorize.")
  const charged = chargeBucket(state, {clientId: app.client_id, bucket: 'token_refreshes'})
  if (charged.limited) return finishCharged(state, charged.charge, rateLimitedResponse({retryAfter: charged.retryAfter, envelope: 'typed'}))
  if (narrowing.lost.length > 0) recordEvent(state, 'provisioning.token.refresh_narrowed', 'info', {client_id: old.client_id, lost_scopes: narrowing.lost})
  const pair = rotateProvisioningRefreshToken(state, old, narrowing.scopes)
  countGrant(state, 'provisioning:refresh_token')
  return finishCharged(
    state,
    charged.charge,
    tokenJson({token_type: 'bearer', access_token: pair.access.token, refresh_token: pair.refresh.token, expires_in: secondsLeft(state, pair.access.expires_at)}),
  )
}

export function handleProvisioningToken(ctx: MockContext): (args: {request: Request}) => Promise<Response> {
  return async ({request}) => {
    const requests = ctx.state.counters.provisioning.token_requests
    const body = await readBody(request)
    if (!body.ok) return oauthError('invalid_request', body.reason)
    const grantType = stringParam(body.params, 'grant_type')
    if (grantType === 'authorization_code') {
      requests.authorization_code += 1
      return redeemProvisioningCode(ctx, body.params)
    }
    if (grantType === 'refresh_token') {
      requests.refresh_token += 1
      return refreshProvisioningToken(ctx, body.params)
    }
    requests.other += 1
    return oauthError('unsupported_grant_type', `Unsupported grant_type: ${grantType ?? ''}`)
  }
}
