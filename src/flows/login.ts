import * as oidc from 'openid-client'

import type {Deps} from '../deps.js'
import {UsageError} from '../errors.js'
import {awaitCallback} from '../oauth/await-callback.js'
import {authorizationUrl} from '../oauth/authorize.js'
import {clientConfiguration, discover, type Discovered} from '../oauth/discovery.js'
import {mapOAuthErrorInfo} from '../oauth/errors.js'
import {exchangeCode, type TokenResponse} from '../oauth/exchange.js'
import {invalidScope, scopesNamedIn} from '../oauth/invalid-scope.js'
import {listenLoopback, type CallbackListener} from '../oauth/loopback.js'
import {compareGrant} from '../oauth/preflight.js'
import {registerClient, rememberClient, rememberedClient, type RegisteredClient} from '../oauth/registration.js'
import {revokeToken} from '../oauth/revoke.js'
import {findUser} from '../oauth/user.js'
import {CALLBACK_PATH, resolveServer, type Server, type ServerSelection} from '../server.js'
import {expiresAt, type Session} from '../session/session.js'
import {advertisedList, planScopes} from './scope-plan.js'

export interface LoginOptions extends ServerSelection {
  /** --scopes: replaces the requested set; every scope in it is required. */
  scopes?: string | undefined
  browser: boolean
  port?: number | undefined
  timeoutSeconds: number
}

export interface LoginResult {
  issuer: string
  region: string | null
  client_id: string
  user: Session['user']
  scopes: string[]
  missing_optional_scopes: string[]
  expires_at: string | null
  storage: {kind: string; location: string}
}

/** `onramp login`: PKCE (RFC 7636, S256) authorization-code login through a loopback redirect (RFC 8252). */
export async function login(deps: Deps, options: LoginOptions): Promise<LoginResult> {
  const server = resolveServer(options)
  const discovered = await discover(deps, server.issuer)
  const plan = planScopes(deps, {surface: 'login', discovered, clientId: server.clientId ?? '(to be registered)', override: options.scopes})
  // Opened before the browser: a keychain that must exist but does not fails first.
  const store = await deps.sessions()

  const remembered = server.clientId ? undefined : rememberedClient(deps.paths.config, server.issuer)
  if (!server.clientId && !remembered && !discovered.metadata.registration_endpoint) {
    throw new UsageError(`${server.issuer} has no dynamic client registration: pass --client-id (or set ONRAMP_CLIENT_ID).`, {code: 'client_id_required'})
  }

  const state = oidc.randomState()
  const listener = await listenLoopback({
    host: server.redirect.host,
    ports: loopbackPorts(server, options.port, remembered),
    path: CALLBACK_PATH,
    expectedState: state,
    expectedIssuer: discovered.issuer,
    logger: deps.logger,
  })
  try {
    const clientId = server.clientId ?? (await ensureRegisteredClient(deps, {discovered, listener, remembered, scopes: plan.request}))
    const config = clientConfiguration(discovered, clientId, deps.http)
    const codeVerifier = oidc.randomPKCECodeVerifier()
    const url = await authorizationUrl(config, {redirectUri: listener.redirectUri, scopes: plan.request, state, codeVerifier})
    deps.logger.event('login.authorize', {issuer: server.issuer, client_id: clientId, redirect_uri: listener.redirectUri, scopes: plan.request}, 'info')

    if (options.browser) await deps.openBrowser(url.href)
    else deps.stderr.write(`Open this URL in a browser, then paste the address you are sent back to (it starts with ${listener.redirectUri}):\n  ${url.href}\n`)
    const callback = await awaitCallback({listener, timeoutSeconds: options.timeoutSeconds, ...(options.browser ? {} : {paste: deps})})
    const scopeReport = {surface: 'login' as const, issuer: server.issuer, clientId, requested: plan.request, required: plan.required, advertised: advertisedList(discovered)}

    const error = callback.get('error')
    if (error) {
      const description = callback.get('error_description') ?? undefined
      if (error === 'invalid_scope') {
        throw invalidScope(deps.logger, {...scopeReport, source: 'authorize', missing: scopesNamedIn(description, plan.request), serverSaid: description})
      }
      throw mapOAuthErrorInfo({error, description}, {step: 'authorize', issuer: server.issuer, clientId})
    }

    let tokens: TokenResponse
    try {
      tokens = await exchangeCode(config, {redirectUri: listener.redirectUri, callback, codeVerifier, state})
    } catch (caught) {
      if ((caught as {code?: string}).code !== 'invalid_scope') throw caught
      const said = (caught as Error).message
      throw invalidScope(deps.logger, {...scopeReport, source: 'token', missing: scopesNamedIn(said, plan.request), serverSaid: said})
    }

    const grant = compareGrant(plan, tokens.scope)
    if (grant.missingRequired.length > 0) {
      // A token without a required scope fails an hour later with a 401: refuse it now, store nothing.
      await revokeQuietly(deps, config, tokens)
      throw invalidScope(deps.logger, {...scopeReport, source: 'grant', missing: grant.missingRequired})
    }
    if (grant.missingOptional.length > 0) {
      deps.warn(`The server did not grant these optional scopes: ${grant.missingOptional.join(', ')}. Related features will be unavailable.`)
    }

    const now = deps.now()
    const user = await findUser(deps, {config, issuer: server.issuer, accessToken: tokens.access_token, idTokenClaims: tokens.claims(), granted: grant.granted})
    const session: Session = {
      issuer: server.issuer,
      client_id: clientId,
      region: server.region,
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token ?? null,
      expires_at: expiresAt(now, tokens.expires_in),
      scope: grant.granted,
      user,
      obtained_at: now.toISOString(),
    }
    await store.save(session)
    deps.logger.event('login.success', {issuer: server.issuer, client_id: clientId, scopes: grant.granted, storage: store.kind}, 'info')
    return {
      issuer: server.issuer,
      region: server.region,
      client_id: clientId,
      user,
      scopes: grant.granted,
      missing_optional_scopes: grant.missingOptional,
      expires_at: session.expires_at,
      storage: {kind: store.kind, location: store.location},
    }
  } finally {
    await listener.close()
  }
}

function loopbackPorts(server: Server, port: number | undefined, remembered: RegisteredClient | undefined): readonly number[] {
  if (port !== undefined) return [port]
  if (remembered) {
    // A registered client's redirect carries its port: strict servers match it exactly.
    const rememberedPort = Number(new URL(remembered.redirect_uri).port)
    if (rememberedPort) return [rememberedPort, 0]
  }
  return server.redirect.ports
}

async function ensureRegisteredClient(
  deps: Deps,
  {discovered, listener, remembered, scopes}: {discovered: Discovered; listener: CallbackListener; remembered: RegisteredClient | undefined; scopes: readonly string[]},
): Promise<string> {
  if (remembered && remembered.redirect_uri === listener.redirectUri) return remembered.client_id
  const client = await registerClient({http: deps.http, discovered, now: deps.now}, {redirectUri: listener.redirectUri, scopes})
  await rememberClient(deps.paths.config, client)
  deps.logger.event('oauth.client_registered', {issuer: discovered.issuer, client_id: client.client_id, redirect_uri: client.redirect_uri}, 'info')
  deps.stderr.write(`Registered onramp as client ${client.client_id} at ${discovered.issuer}.\n`)
  return client.client_id
}

/** Best effort: a refused grant should not stay live on the server, but failing to revoke changes nothing here. */
async function revokeQuietly(deps: Deps, config: oidc.Configuration, tokens: TokenResponse): Promise<void> {
  try {
    await revokeToken(config, tokens.refresh_token ? {token: tokens.refresh_token, hint: 'refresh_token'} : {token: tokens.access_token, hint: 'access_token'})
  } catch (error) {
    deps.logger.event('oauth.revoke_failed', {error: error instanceof Error ? error.message : String(error)}, 'debug')
  }
}
