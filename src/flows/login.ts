import {createInterface} from 'node:readline'

import * as oidc from 'openid-client'

import type {Deps} from '../deps.js'
import {NotLoggedInError, UsageError} from '../errors.js'
import {clientConfiguration, discover, type Discovered} from '../oauth/discovery.js'
import {mapOAuthError, mapOAuthErrorInfo} from '../oauth/errors.js'
import {invalidScope, scopesNamedIn} from '../oauth/invalid-scope.js'
import {listenLoopback, type CallbackListener} from '../oauth/loopback.js'
import {compareGrant, preflight, readAdvertisedScopes, type Plan} from '../oauth/preflight.js'
import {registerClient, rememberClient, rememberedClient} from '../oauth/registration.js'
import {findUser} from '../oauth/user.js'
import {isWellFormedScope, parseScopeString, REQUIRED_LOGIN_SCOPES, LOGIN_SCOPES} from '../scopes.js'
import {CALLBACK_PATH, resolveServer, type Server, type ServerSelection} from '../server.js'
import type {Session} from '../session/session.js'

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
  const discovered = await discover({http: deps.http, logger: deps.logger, cacheDir: deps.paths.cache, now: deps.now}, server.issuer)
  const plan = planScopes(deps, {server, discovered, scopes: options.scopes})
  // Opening the store early: a keychain that must exist but does not fails before the browser opens.
  const store = await deps.sessions()

  const remembered = server.clientId ? undefined : rememberedClient(deps.paths.config, server.issuer)
  if (!server.clientId && !remembered && !discovered.metadata.registration_endpoint) {
    throw new UsageError(`${server.issuer} has no dynamic client registration: pass --client-id (or set ONRAMP_CLIENT_ID).`, {code: 'client_id_required'})
  }

  const state = oidc.randomState()
  const listener = await listenLoopback({
    host: server.redirect.host,
    ports: loopbackPorts(server, options.port, remembered?.redirect_uri),
    path: CALLBACK_PATH,
    expectedState: state,
    expectedIssuer: discovered.issuer,
    logger: deps.logger,
  })
  try {
    const clientId = server.clientId ?? (await ensureRegisteredClient(deps, {discovered, listener, remembered, scopes: plan.request}))
    const config = clientConfiguration(discovered, clientId, deps.http)
    const verifier = oidc.randomPKCECodeVerifier()
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: listener.redirectUri,
      response_type: 'code',
      scope: plan.request.join(' '),
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      // OIDC Core 11: offline access must be asked for with prompt=consent, or providers drop it.
      ...(plan.request.includes('offline_access') ? {prompt: 'consent'} : {}),
    })
    deps.logger.event('login.authorize', {issuer: server.issuer, client_id: clientId, redirect_uri: listener.redirectUri, scopes: plan.request}, 'info')

    if (options.browser) await deps.openBrowser(url.href)
    else deps.stderr.write(`Open this URL in a browser, then paste the address you are sent back to (it starts with ${listener.redirectUri}):\n  ${url.href}\n`)
    const params = await waitForCallback(deps, {listener, timeoutSeconds: options.timeoutSeconds, pasteFromStdin: !options.browser})

    const error = params.get('error')
    if (error) {
      const description = params.get('error_description') ?? undefined
      if (error === 'invalid_scope') {
        throw invalidScope(deps.logger, {
          source: 'authorize',
          surface: 'login',
          issuer: server.issuer,
          clientId,
          requested: plan.request,
          required: plan.required,
          advertised: advertisedList(discovered),
          missing: scopesNamedIn(description, plan.request),
          serverSaid: description,
        })
      }
      throw mapOAuthErrorInfo({error, description}, {step: 'authorize', issuer: server.issuer, clientId})
    }

    const callbackUrl = new URL(listener.redirectUri)
    for (const [key, value] of params) callbackUrl.searchParams.append(key, value)
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {pkceCodeVerifier: verifier, expectedState: state})
    } catch (error) {
      const mapped = mapOAuthError(error, {step: 'token', issuer: server.issuer, clientId})
      if (mapped.code !== 'invalid_scope') throw mapped
      throw invalidScope(deps.logger, {
        source: 'token', surface: 'login', issuer: server.issuer, clientId, requested: plan.request, required: plan.required,
        advertised: advertisedList(discovered), missing: scopesNamedIn(mapped.message, plan.request), serverSaid: mapped.message,
      })
    }

    const grant = compareGrant(plan, tokens.scope)
    if (grant.missingRequired.length > 0) {
      // A token without a required scope fails an hour later with a 401: refuse it now, store nothing.
      await revokeQuietly(deps, config, tokens.refresh_token ?? tokens.access_token)
      throw invalidScope(deps.logger, {
        source: 'grant', surface: 'login', issuer: server.issuer, clientId, requested: plan.request, required: plan.required,
        advertised: advertisedList(discovered), missing: grant.missingRequired,
      })
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
      expires_at: tokens.expires_in === undefined ? null : new Date(now.getTime() + tokens.expires_in * 1000).toISOString(),
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

/** The preflight of client.md: stop on a missing required scope, drop (and warn about) missing optional ones. */
function planScopes(deps: Deps, {server, discovered, scopes}: {server: Server; discovered: Discovered; scopes: string | undefined}): Plan {
  const requested = scopes === undefined ? LOGIN_SCOPES : parseScopeString(scopes)
  if (scopes !== undefined) {
    if (requested.length === 0) throw new UsageError('--scopes is empty: pass space-separated scopes, e.g. --scopes "user:read project:read".')
    const bad = requested.filter((scope) => !isWellFormedScope(scope) && !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope))
    if (bad.length > 0) throw new UsageError(`--scopes has invalid scope tokens (RFC 6749 section 3.3): ${bad.join(', ')}`)
  }
  const advertised = readAdvertisedScopes(discovered.metadata)
  const plan = preflight({surface: 'login', scopes: requested, required: scopes === undefined ? REQUIRED_LOGIN_SCOPES : requested}, advertised)
  if (plan.check === 'skipped-absent') deps.logger.event('preflight.skipped', {issuer: server.issuer, reason: 'scopes_supported absent'}, 'info')
  if (plan.check === 'skipped-malformed') deps.warn(`${server.issuer} sent a malformed scopes_supported; the scope check before login is skipped.`)
  if (plan.missingRequired.length > 0) {
    throw invalidScope(deps.logger, {
      source: 'preflight', surface: 'login', issuer: server.issuer, clientId: server.clientId ?? '(to be registered)',
      requested, required: plan.required, advertised: advertisedList(discovered), missing: plan.missingRequired,
    })
  }
  if (plan.missingOptional.length > 0) {
    deps.warn(`${server.issuer} does not offer these optional scopes, so they are not requested: ${plan.missingOptional.join(', ')}`)
  }
  return plan
}

function advertisedList(discovered: Discovered): string[] | null {
  const advertised = readAdvertisedScopes(discovered.metadata)
  return advertised.kind === 'listed' ? [...advertised.scopes] : null
}

function loopbackPorts(server: Server, port: number | undefined, rememberedRedirect: string | undefined): readonly number[] {
  if (port !== undefined) return [port]
  if (rememberedRedirect) {
    // A registered client's redirect carries its port: strict servers match it exactly.
    const remembered = Number(new URL(rememberedRedirect).port)
    if (remembered) return [remembered, 0]
  }
  return server.redirect.ports
}

async function ensureRegisteredClient(
  deps: Deps,
  {discovered, listener, remembered, scopes}: {discovered: Discovered; listener: CallbackListener; remembered: {client_id: string; redirect_uri: string} | undefined; scopes: readonly string[]},
): Promise<string> {
  if (remembered && remembered.redirect_uri === listener.redirectUri) return remembered.client_id
  const client = await registerClient({http: deps.http, discovered, now: deps.now}, {redirectUri: listener.redirectUri, scopes})
  rememberClient(deps.paths.config, client)
  deps.logger.event('oauth.client_registered', {issuer: discovered.issuer, client_id: client.client_id, redirect_uri: client.redirect_uri}, 'info')
  deps.stderr.write(`Registered onramp as client ${client.client_id} at ${discovered.issuer}.\n`)
  return client.client_id
}

/** Waits for the loopback callback, a pasted redirect URL (--no-browser), or the timeout. */
async function waitForCallback(
  deps: Deps,
  {listener, timeoutSeconds, pasteFromStdin}: {listener: CallbackListener; timeoutSeconds: number; pasteFromStdin: boolean},
): Promise<URLSearchParams> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new NotLoggedInError(
            `No authorization arrived within ${timeoutSeconds} s; nothing was stored. If the browser showed an error, fix what it says; then run onramp login again (--timeout sets the wait).`,
            {code: 'login_timeout'},
          ),
        ),
      timeoutSeconds * 1000,
    )
  })
  const lines = pasteFromStdin ? createInterface({input: deps.stdin, terminal: false}) : undefined
  lines?.on('line', (line) => {
    if (!line.trim()) return
    const refusal = listener.submit(line)
    if (refusal) deps.stderr.write(`That URL was not accepted: ${refusal}. Paste the address again:\n`)
  })
  try {
    return await Promise.race([listener.result, timeout])
  } finally {
    clearTimeout(timer)
    lines?.close()
  }
}

async function revokeQuietly(deps: Deps, config: oidc.Configuration, token: string): Promise<void> {
  if (!config.serverMetadata().revocation_endpoint) return
  try {
    await oidc.tokenRevocation(config, token)
  } catch (error) {
    deps.logger.event('oauth.revoke_failed', {error: error instanceof Error ? error.message : String(error)}, 'debug')
  }
}
