/**
 * Resource endpoints that take a Bearer access token (server.md section 3): OIDC userinfo and
 * PostHog's `GET /api/users/@me/`, with its 401/403 rules and PostHog's exact 403 wording.
 */
import type {HttpHandler} from 'msw'

import {json, route, type MockContext} from './http.js'
import {tokenHasScope} from './scopes.js'
import {findUser, type AccessToken, type User} from './state.js'
import {bearerToken, checkAccessToken} from './tokens.js'

const UNAUTHENTICATED: Record<string, string> = {
  missing: 'Authentication credentials were not provided.',
  unknown: 'Invalid access token.',
  revoked: 'Invalid access token.',
  expired: 'Access token has expired.',
}

type Authentication = {ok: true; token: AccessToken; user: User} | {ok: false; response: Response}

/**
 * 401 for a missing, unknown, revoked or expired token; 403 with `API key missing required scope '<s>'`
 * when the token lacks the endpoint's scope (write implies read, `*` implies everything).
 */
export function authenticateBearer(ctx: MockContext, request: Request, requiredScope: string): Authentication {
  const check = checkAccessToken(ctx.state, bearerToken(request))
  const user = check.ok ? findUser(ctx.state, check.token.user_email) : undefined
  if (!check.ok || !user) {
    const reason = check.ok ? 'unknown' : check.reason
    return {ok: false, response: json({detail: UNAUTHENTICATED[reason]}, 401, {'www-authenticate': 'Bearer realm="api"'})}
  }
  if (!tokenHasScope(check.token.scopes, requiredScope)) {
    return {ok: false, response: json({detail: `API key missing required scope '${requiredScope}'`}, 403)}
  }
  return {ok: true, token: check.token, user}
}

/** The OIDC userinfo challenge (RFC 6750 section 3): 401 invalid_token, 403 insufficient_scope without `openid`. */
function authenticateUserinfo(ctx: MockContext, request: Request): Authentication {
  const check = checkAccessToken(ctx.state, bearerToken(request))
  const user = check.ok ? findUser(ctx.state, check.token.user_email) : undefined
  if (!check.ok || !user) {
    return {ok: false, response: json({error: 'invalid_token', error_description: 'The access token is invalid or has expired.'}, 401, {'www-authenticate': 'Bearer error="invalid_token"'})}
  }
  if (!tokenHasScope(check.token.scopes, 'openid')) {
    return {ok: false, response: json({error: 'insufficient_scope', error_description: 'The openid scope is required.'}, 403, {'www-authenticate': 'Bearer error="insufficient_scope", scope="openid"'})}
  }
  return {ok: true, token: check.token, user}
}

function userinfo(ctx: MockContext, request: Request): Response {
  const auth = authenticateUserinfo(ctx, request)
  if (!auth.ok) return auth.response
  const {user} = auth
  return json({sub: user.uuid, email: user.email, email_verified: true, name: user.first_name, given_name: user.first_name})
}

export function userApiHandlers(ctx: MockContext): HttpHandler[] {
  return [
    route(ctx, 'GET', '/oauth/userinfo', 'optional', ({request}) => userinfo(ctx, request)),
    route(ctx, 'POST', '/oauth/userinfo', 'optional', ({request}) => userinfo(ctx, request)),
    route(ctx, 'GET', '/api/users/@me', 'optional', ({request}) => {
      const auth = authenticateBearer(ctx, request, 'user:read')
      if (!auth.ok) return auth.response
      const {user} = auth
      const team = user.teams[0]
      return json({
        uuid: user.uuid,
        email: user.email,
        first_name: user.first_name,
        organization: {id: user.organization.id, name: user.organization.name},
        team: team ? {id: team.id, name: team.name} : null,
      })
    }),
  ]
}
