/**
 * `/oauth/introspect` (RFC 7662) as posthog/api/oauth/views.py `OAuthIntrospectTokenView` answers it.
 *
 * Who may call, checked in django-oauth-toolkit's order (ClientProtectedScopedResourceView):
 * 1. a confidential client's credentials (`client_id` + `client_secret` in the body, or HTTP Basic);
 *    a public client's bare `client_id` authenticates nothing (ConfidentialClientOnlyOAuthValidator);
 * 2. else a Bearer token: the token introspecting itself (`Authorization: Bearer T` with `token=T`, any
 *    access token that exists, expired included), or a valid token holding the `introspection` scope.
 * Anything else is the bare `403` with an empty body (`HttpResponseForbidden`).
 *
 * The answer: `{active:false}` for an unknown, revoked (PostHog deletes revoked access tokens) or expired
 * token, and on the client-credentials path for a token of another app. An access token answers
 * `active, token_type:"access_token", scope, scoped_teams, scoped_organizations, exp, client_id,
 * client_name`; a live refresh token the same without `scope` and `exp`. The token comes from the query
 * (GET), the form body or a JSON body (POST).
 */
import type {HttpHandler} from 'msw'

import {json, readBody, route, stringParam, type MockContext} from './http.js'
import {formatScopes, tokenHasScope} from './scopes.js'
import {findApp, findUser, type AccessToken, type MockState, type OAuthApp, type RefreshToken} from './state.js'
import {bearerToken, checkAccessToken} from './tokens.js'

/** The confidential client the request authenticates as, or undefined (public clients never do). */
function confidentialCaller(state: MockState, request: Request, params: Record<string, unknown>): OAuthApp | undefined {
  let clientId = stringParam(params, 'client_id')
  let secret = stringParam(params, 'client_secret')
  const basic = /^Basic\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')
  if (basic?.[1]) {
    const [id = '', pass = ''] = Buffer.from(basic[1], 'base64').toString('utf8').split(':')
    clientId = decodeURIComponent(id)
    secret = decodeURIComponent(pass)
  }
  const app = findApp(state, clientId)
  if (!app || app.client_type !== 'confidential' || !app.client_secret || secret !== app.client_secret) return undefined
  return app
}

/** A revoked access token is deleted upstream: for every purpose here it does not exist. */
function existingAccessToken(state: MockState, value: string | undefined): AccessToken | undefined {
  const token = value ? state.accessTokens.get(value) : undefined
  return token && token.revoked_at === undefined && !state.revokedFamilies.has(token.family) ? token : undefined
}

function liveRefreshToken(state: MockState, value: string): RefreshToken | undefined {
  const token = state.refreshTokens.get(value)
  return token && token.revoked_at === undefined && token.rotated_at === undefined && !state.revokedFamilies.has(token.family) ? token : undefined
}

function forbidden(): Response {
  return new Response('', {status: 403, headers: {'content-type': 'text/html; charset=utf-8'}})
}

function tokenFields(ctx: MockContext, token: AccessToken | RefreshToken): Record<string, unknown> {
  const user = findUser(ctx.state, token.user_email)
  const app = findApp(ctx.state, token.client_id)
  return {
    scoped_teams: token.scoped_teams ?? user?.teams.map((team) => team.id) ?? [],
    // Provisioning tokens are minted with scoped_teams only (views/oauth_token.py).
    scoped_organizations: token.surface === 'provisioning' || !user ? [] : [user.organization.id],
    ...(app ? {client_id: app.client_id, client_name: app.name} : {}),
  }
}

function handleIntrospect(ctx: MockContext): (args: {request: Request; url: URL}) => Promise<Response> {
  return async ({request, url}) => {
    const {state} = ctx
    let params: Record<string, unknown> = {}
    if (request.method === 'GET') params = Object.fromEntries(url.searchParams)
    else {
      const body = await readBody(request)
      if (body.ok) params = body.params
    }
    const value = stringParam(params, 'token')
    const client = confidentialCaller(state, request, params)
    if (!client) {
      const bearer = bearerToken(request)
      const self = bearer !== undefined && bearer === value && existingAccessToken(state, bearer) !== undefined
      const caller = checkAccessToken(state, bearer)
      if (!self && !(caller.ok && tokenHasScope(caller.token.scopes, 'introspection'))) return forbidden()
    }
    if (!value) return json({active: false})
    const access = existingAccessToken(state, value)
    if (access) {
      if (client && access.client_id !== client.client_id) return json({active: false})
      if (state.now() >= access.expires_at) return json({active: false})
      return json({active: true, token_type: 'access_token', scope: formatScopes(access.scopes), exp: Math.floor(access.expires_at / 1000), ...tokenFields(ctx, access)})
    }
    const refresh = liveRefreshToken(state, value)
    if (refresh) {
      if (client && refresh.client_id !== client.client_id) return json({active: false})
      return json({active: true, token_type: 'refresh_token', ...tokenFields(ctx, refresh)})
    }
    return json({active: false})
  }
}

export function introspectionHandlers(ctx: MockContext): HttpHandler[] {
  return [route(ctx, 'POST', '/oauth/introspect', 'optional', handleIntrospect(ctx)), route(ctx, 'GET', '/oauth/introspect', 'optional', handleIntrospect(ctx))]
}
