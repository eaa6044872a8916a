/**
 * `/oauth/authorize` (server.md section 3): client and redirect checks that never redirect, PKCE, the
 * app's scope ceiling under the instance's policy (reject or clamp), the consent page and its form POST,
 * auto-approve and first-party apps, and the login page for a signed-out browser.
 */
import type {HttpHandler} from 'msw'

import {renderConsentPage, renderErrorPage, renderLoginPage} from './consent-page.js'
import {endpoint, html, json, readBody, redirect, route, stringParam, withQuery, type MockContext} from './http.js'
import {decideAuthorizeScopes, formatScopes, grantableScopes, parseScopeParameter, withReadHalves} from './scopes.js'
import {ceilingOf, findApp, recordEvent, type OAuthApp} from './state.js'
import {createCode, isWellFormedPkceValue} from './tokens.js'

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

/**
 * Exact match, except that a registered loopback URI (http, 127.0.0.1 / [::1] / localhost) accepts any
 * port (RFC 8252 section 7.3, server.md section 3). Scheme, host, path and query must still match.
 */
export function redirectUriMatches(registered: string, requested: string): boolean {
  if (registered === requested) return true
  let reg: URL
  let req: URL
  try {
    reg = new URL(registered)
    req = new URL(requested)
  } catch {
    return false
  }
  if (reg.protocol !== 'http:' || !LOOPBACK_HOSTS.has(reg.hostname)) return false
  return req.protocol === reg.protocol && req.hostname === reg.hostname && req.pathname === reg.pathname && req.search === reg.search && req.hash === ''
}

export function isRegisteredRedirectUri(app: OAuthApp, requested: string): boolean {
  return app.redirect_uris.some((registered) => redirectUriMatches(registered, requested))
}

interface ValidAuthorizeRequest {
  app: OAuthApp
  redirectUri: string
  state: string | undefined
  codeChallenge: string
  nonce: string | undefined
  scopes: string[]
}

type Validation = {ok: true; request: ValidAuthorizeRequest} | {ok: false; response: Response}

/** Error redirect to the (already validated) redirect_uri, with `state` and, when enabled, `iss`. */
function redirectWithError(ctx: MockContext, redirectUri: string, state: string | undefined, error: string, description: string): Response {
  return redirect(withQuery(redirectUri, {error, error_description: description, state, ...issParameter(ctx)}))
}

function issParameter(ctx: MockContext): {iss?: string} {
  return ctx.state.config.iss_parameter ? {iss: ctx.issuer} : {}
}

/** The checks, in the order the server runs them (oauthlib: client, redirect_uri, response_type, PKCE, scope). */
function validateAuthorizeRequest(ctx: MockContext, params: Record<string, unknown>, userAgent: string): Validation {
  const clientId = stringParam(params, 'client_id')
  // Unknown client: 400 JSON, never a redirect (the redirect target cannot be trusted).
  if (!clientId) return {ok: false, response: json({error: 'invalid_request', error_description: 'Missing client_id parameter.'}, 400)}
  const app = findApp(ctx.state, clientId)
  if (!app) return {ok: false, response: json({error: 'invalid_request', error_description: 'Invalid client_id parameter value.'}, 400)}

  // Bad redirect_uri: an error page, never a redirect.
  const redirectUri = stringParam(params, 'redirect_uri')
  if (!redirectUri) return {ok: false, response: html(renderErrorPage({title: 'Invalid request', message: 'Missing redirect_uri parameter.'}), 400)}
  if (!isRegisteredRedirectUri(app, redirectUri)) {
    return {ok: false, response: html(renderErrorPage({title: 'Invalid request', message: `Mismatching redirect URI: ${redirectUri} is not registered for ${app.name}.`}), 400)}
  }

  const state = stringParam(params, 'state')
  const fail = (error: string, description: string): Validation => ({ok: false, response: redirectWithError(ctx, redirectUri, state, error, description)})

  const responseType = stringParam(params, 'response_type')
  if (!responseType) return fail('invalid_request', 'Missing response_type parameter.')
  if (responseType !== 'code') return fail('unsupported_response_type', `Unsupported response_type: ${responseType}.`)
  const responseMode = stringParam(params, 'response_mode')
  if (responseMode && responseMode !== 'query') return fail('invalid_request', `Unsupported response_mode: ${responseMode}.`)

  // PKCE is required for every client, S256 only.
  const codeChallenge = stringParam(params, 'code_challenge')
  if (!codeChallenge) return fail('invalid_request', 'Code challenge required.')
  if (stringParam(params, 'code_challenge_method') !== 'S256') return fail('invalid_request', 'Transform algorithm not supported: code_challenge_method must be S256.')
  if (!isWellFormedPkceValue(codeChallenge)) return fail('invalid_request', 'Invalid code_challenge: 43-128 base64url characters expected.')

  const requested = parseScopeParameter(stringParam(params, 'scope'))
  const decision = decideAuthorizeScopes({requested, ceiling: ceilingOf(app), policy: ctx.state.config.policy})
  if (!decision.ok) {
    recordEvent(ctx.state, 'oauth.authorize.invalid_scope', 'warn', {
      requested_scopes: decision.requested,
      grantable_scopes: decision.grantable,
      missing_scopes: decision.missing,
      client_id: app.client_id,
      user_agent: userAgent.slice(0, 200),
    })
    return fail('invalid_scope', `The requested scopes are not allowed for this application: ${formatScopes(decision.missing)}`)
  }
  if (decision.dropped.length > 0) {
    recordEvent(ctx.state, 'oauth.authorize.scopes_clamped', 'info', {requested_scopes: requested, granted_scopes: decision.granted, dropped_scopes: decision.dropped, client_id: app.client_id})
  }
  // The consent screen grants `X:read` with every `X:write` row (PostHog PR #81072, frontend effectiveScopes).
  const scopes = withReadHalves(decision.granted, grantableScopes(ceilingOf(app)))
  return {ok: true, request: {app, redirectUri, state, codeChallenge, nonce: stringParam(params, 'nonce'), scopes}}
}

/** Success: a 300 s single-use code for the signed-in user, back to the client. */
function approve(ctx: MockContext, request: ValidAuthorizeRequest): Response {
  const code = createCode(ctx.state, {
    surface: 'oauth',
    client_id: request.app.client_id,
    user_email: ctx.state.browserUserEmail,
    scopes: request.scopes,
    redirect_uri: request.redirectUri,
    code_challenge: request.codeChallenge,
    nonce: request.nonce,
  })
  recordEvent(ctx.state, 'oauth.authorize.approved', 'info', {client_id: request.app.client_id, scopes: request.scopes})
  return redirect(withQuery(request.redirectUri, {code: code.code, state: request.state, ...issParameter(ctx)}))
}

function consentPage(ctx: MockContext, request: ValidAuthorizeRequest): Response {
  return html(
    renderConsentPage({
      appName: request.app.name,
      userEmail: ctx.state.browserUserEmail,
      scopes: request.scopes,
      action: endpoint(ctx, '/oauth/authorize/'),
      fields: {
        client_id: request.app.client_id,
        redirect_uri: request.redirectUri,
        response_type: 'code',
        state: request.state,
        code_challenge: request.codeChallenge,
        code_challenge_method: 'S256',
        scope: formatScopes(request.scopes),
        nonce: request.nonce,
      },
    }),
  )
}

function loginRedirect(ctx: MockContext, url: URL): Response {
  return redirect(withQuery(endpoint(ctx, '/login'), {next: `${url.pathname}${url.search}`}))
}

export function authorizeHandlers(ctx: MockContext): HttpHandler[] {
  return [
    route(ctx, 'GET', '/oauth/authorize', 'optional', ({request, url}) => {
      const validation = validateAuthorizeRequest(ctx, Object.fromEntries(url.searchParams), request.headers.get('user-agent') ?? '')
      if (!validation.ok) return validation.response
      if (!ctx.state.config.signed_in) return loginRedirect(ctx, url)
      // First-party apps skip consent; auto-approve mode stands in for a user who always clicks Authorize.
      if (validation.request.app.first_party || ctx.state.config.auto_approve) return approve(ctx, validation.request)
      return consentPage(ctx, validation.request)
    }),
    // The consent form: the request arrives again in hidden inputs and is validated again.
    route(ctx, 'POST', '/oauth/authorize', 'optional', async ({request, url}) => {
      const body = await readBody(request)
      if (!body.ok) return html(renderErrorPage({title: 'Invalid request', message: body.reason}), 400)
      const validation = validateAuthorizeRequest(ctx, body.params, request.headers.get('user-agent') ?? '')
      if (!validation.ok) return validation.response
      if (!ctx.state.config.signed_in) return loginRedirect(ctx, url)
      if (stringParam(body.params, 'decision') !== 'allow') {
        recordEvent(ctx.state, 'oauth.authorize.denied', 'info', {client_id: validation.request.app.client_id})
        return redirectWithError(ctx, validation.request.redirectUri, validation.request.state, 'access_denied', 'The user denied the request.')
      }
      return approve(ctx, validation.request)
    }),
    route(ctx, 'GET', '/login', 'optional', ({url}) =>
      html(renderLoginPage({action: endpoint(ctx, '/login'), next: url.searchParams.get('next') ?? '/', email: ctx.state.browserUserEmail})),
    ),
    route(ctx, 'POST', '/login', 'optional', async ({request}) => {
      const body = await readBody(request)
      const next = body.ok ? (stringParam(body.params, 'next') ?? '/') : '/'
      ctx.state.config.signed_in = true
      // Only back to this server (no open redirect).
      const target = new URL(next, `${new URL(ctx.issuer).origin}/`)
      return redirect(target.origin === new URL(ctx.issuer).origin ? target.toString() : ctx.issuer)
    }),
  ]
}
