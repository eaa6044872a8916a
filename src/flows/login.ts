import type {Deps} from '../deps.js'
import {OnrampError, UsageError} from '../errors.js'
import {awaitCallback} from '../oauth/await-callback.js'
import {createOAuthClient, randomNonce, randomState, ScopeRefusal, type OAuthClient, type TokenSet} from '../oauth/client.js'
import {createPkce} from '../oauth/pkce.js'
import {DEVICE_CODE_GRANT, deviceAuthorizationEndpoint, pollDeviceGrant, requestDeviceAuthorization, type DeviceAuthorization} from '../oauth/device.js'
import {explainRefusal, probeAuthorizationRequest, type AuthorizeRefusal} from '../oauth/authorize-probe.js'
import {discover, type Discovered} from '../oauth/discovery.js'
import {mapOAuthErrorInfo} from '../oauth/errors.js'
import {listenLoopback, type CallbackListener} from '../oauth/loopback.js'
import {registerClient, rememberClient, rememberedClient, type RegisteredClient} from '../oauth/registration.js'
import {findUser} from '../oauth/user.js'
import {invalidScope, scopesNamedIn} from '../scopes/invalid-scope.js'
import {planScopes} from '../scopes/plan.js'
import type {Plan} from '../scopes/preflight.js'
import {CALLBACK_PATH, type Server, type ServerSelection} from '../select-server.js'
import type {SessionStore} from '../session/store.js'
import {assertStoreUsable} from '../session/usable.js'
import {acceptGrant} from './accept-grant.js'
import {pasteNeedsTerminal, showAuthorizationUrl} from './authorization-url.js'
import {chooseServer} from './select-sessions.js'
import {openBrowserOrSayWhy} from './open-browser.js'
import {sessionView, type SessionView} from './session-view.js'

export interface LoginOptions extends ServerSelection {
  /** --scopes: replaces the requested set; every scope in it is required. */
  scopes?: string | undefined
  browser: boolean
  port?: number | undefined
  timeoutSeconds: number
  /** --device: the device authorization grant (RFC 8628), refused where the server does not offer it. */
  device?: boolean | undefined
  /** Stops the wait for the person at once (Ctrl-C); its reason is thrown. */
  signal?: AbortSignal | undefined
}

export interface LoginResult {
  session: SessionView
  missing_optional_scopes: string[]
}

/** What every way in shares once the server is known and the scopes are planned. */
interface Prepared {
  server: Server
  discovered: Discovered
  plan: Plan
  store: SessionStore
  remembered: RegisteredClient | undefined
}

/**
 * `onramp login`: PKCE (RFC 7636, S256) authorization-code login through a loopback redirect (RFC 8252),
 * or the device grant (RFC 8628) with --device, and first where no browser can open and the server offers
 * it. Everything that can fail without the user is checked before anyone is asked: the server's metadata,
 * the scopes against `scopes_supported` and the app's ceiling, the session store, the loopback port.
 * Every way in ends in the same grant -> session step (accept-grant.ts).
 */
export async function login(deps: Deps, options: LoginOptions): Promise<LoginResult> {
  // The same choice as every command (flags > environment > .onramp.json > onramp switch > the only session).
  const {server} = await chooseServer(deps, options)
  const discovered = await discover(deps, server.issuer)
  const remembered = server.clientId ? undefined : rememberedClient({configDir: deps.paths.config, issuer: server.issuer})
  // A client onramp registered for itself has the ceiling its registration answer granted: checked here too.
  const selfCeiling = server.clientId ? undefined : (remembered?.scope ?? undefined)
  const plan = await planScopes(deps, {
    surface: 'login',
    discovered,
    clientId: server.clientId ?? remembered?.client_id,
    override: options.scopes,
    ...(selfCeiling ? {ceiling: selfCeiling, selfRegistered: true} : {}),
  })
  // Opened and checked before the browser: a keychain that must exist but does not (exit 7), or a
  // corrupt or unwritable store, fails before anyone consents to a grant that could not be kept.
  const store = await deps.sessions()
  await assertStoreUsable(store)

  const prepared: Prepared = {server, discovered, plan, store, remembered}
  const device = chooseDeviceGrant(deps, prepared, options)
  if (device) {
    try {
      return await deviceLogin(deps, prepared, {...options, clientId: device.clientId})
    } catch (error) {
      // Offered, not asked for: a server that will not start it for this client leaves the pasted redirect.
      if (options.device || !(error instanceof OnrampError) || !DEVICE_FALLBACK_CODES.has(error.code)) throw error
      deps.ui.warn(`The device grant did not start (${error.message}). Using the browser redirect instead: paste the address it sends you to.`)
    }
  }
  if (!server.clientId && !remembered && !discovered.metadata.registration_endpoint) {
    throw new UsageError(`${server.issuer} has no dynamic client registration: pass --client-id (or set ONRAMP_CLIENT_ID).`, {code: 'client_id_required'})
  }
  return redirectLogin(deps, prepared, options)
}

/** Errors that mean "this server will not do the device grant for this client", not "the user said no". */
const DEVICE_FALLBACK_CODES = new Set(['unauthorized_client', 'invalid_client', 'unsupported_grant_type', 'invalid_request', 'device_grant_failed', 'invalid_client_metadata', 'register_failed'])

/**
 * --device, or no browser can open here and the server advertises the grant (client.md "Login without a
 * loopback"). The client: --client-id, the one registered earlier, or one registered now (RFC 7591) for
 * the device grant too. `clientId` undefined means "register".
 */
function chooseDeviceGrant(deps: Deps, {server, discovered, remembered}: Prepared, options: LoginOptions): {clientId: string | undefined} | undefined {
  const offered = deviceAuthorizationEndpoint(discovered) !== undefined
  const clientId = server.clientId ?? remembered?.client_id
  const known = clientId !== undefined || Boolean(discovered.metadata.registration_endpoint)
  if (options.device) {
    if (!offered) {
      throw new UsageError(
        `${server.issuer} does not offer the device grant (its metadata has no device_authorization_endpoint). Run onramp login without --device; where no browser can open, paste the redirect instead (--no-browser).`,
        {code: 'device_grant_unsupported', nextCommand: 'onramp login --no-browser'},
      )
    }
    if (!known) {
      throw new UsageError(`The device grant needs a client id for ${server.issuer}, which has no dynamic client registration: pass --client-id (or set ONRAMP_CLIENT_ID).`, {
        code: 'client_id_required',
      })
    }
    return {clientId}
  }
  const unavailable = options.browser ? deps.browser.unavailableReason() : undefined
  if (!unavailable || !offered || !known) return undefined
  deps.ui.info(`No browser can open here (${unavailable}), so onramp logs in with a one-time code (the device grant). To paste a redirect URL instead, run onramp login --no-browser.`)
  return {clientId}
}

/** The device grant (RFC 8628): a code to approve on any device, polled for until approved, denied or expired. */
async function deviceLogin(deps: Deps, prepared: Prepared, options: LoginOptions & {clientId: string | undefined}): Promise<LoginResult> {
  const {discovered, plan} = prepared
  const clientId = options.clientId ?? (await registerDeviceClient(deps, prepared, options))
  const client = createOAuthClient({discovered, clientId, http: deps.http})
  let authorization: DeviceAuthorization
  try {
    authorization = await requestDeviceAuthorization(deps.http, {discovered, clientId, scopes: plan.request})
  } catch (caught) {
    if (!(caught instanceof ScopeRefusal)) throw caught
    throw invalidScope(deps.logger, {...scopeReport(plan, client), source: 'authorize', missing: scopesNamedIn(caught.serverSaid, plan.request), serverSaid: caught.serverSaid})
  }
  deps.logger.event('login.device_authorization', {issuer: discovered.issuer, client_id: clientId, scopes: plan.request, expires_in: authorization.expires_in, interval: authorization.interval}, 'info')
  const target = authorization.verification_uri_complete ?? authorization.verification_uri
  deps.ui.info(
    [
      '',
      `  Your one-time code:  ${authorization.user_code}`,
      '',
      `Open this URL on any device with a browser, check that it shows the same code, and approve:\n  ${target}`,
      ...(authorization.verification_uri_complete ? [`(or open ${authorization.verification_uri} and type the code)`] : []),
      waitingLine(authorization.expires_in, options.timeoutSeconds),
    ].join('\n'),
  )
  // A browser known to be unavailable was already named above: only a failed attempt is worth a warning.
  if (options.browser && !deps.browser.unavailableReason()) await openBrowserOrSayWhy(deps, target, {otherwise: 'Open the URL above on any device.'})
  const tokens = await pollDeviceGrant(
    deps.http,
    {discovered, clientId, authorization},
    {signal: options.signal, timeoutSeconds: options.timeoutSeconds, onSlowDown: (interval) => deps.logger.event('login.device_slow_down', {interval_seconds: interval}, 'debug')},
  ).catch((caught: unknown) => {
    if (!(caught instanceof ScopeRefusal)) throw caught
    throw invalidScope(deps.logger, {...scopeReport(plan, client), source: 'token', missing: scopesNamedIn(caught.serverSaid, plan.request), serverSaid: caught.serverSaid})
  })
  return saveLogin(deps, prepared, {client, tokens, grant: 'device_code'})
}

/**
 * RFC 7591 for a server without --client-id: a public native client allowed the device grant as well as
 * the redirect (its loopback redirect without a port: RFC 8252 section 7.3), remembered like any other.
 */
async function registerDeviceClient(deps: Deps, {discovered, plan}: Prepared, options: LoginOptions): Promise<string> {
  let client: RegisteredClient
  try {
    client = await registerClient(
      {http: deps.http, discovered, now: deps.now},
      {redirectUri: `http://127.0.0.1${CALLBACK_PATH}`, scopes: plan.request, grantTypes: ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT]},
    )
  } catch (error) {
    if (!options.device || !(error instanceof OnrampError)) throw error
    throw new UsageError(`${discovered.issuer} would not register onramp for the device grant (${error.message}). Pass --client-id with a client allowed to use it.`, {
      code: 'client_id_required',
      cause: error,
    })
  }
  await rememberClient(deps.paths.config, client)
  deps.logger.event('oauth.client_registered', {issuer: discovered.issuer, client_id: client.client_id, redirect_uri: client.redirect_uri, device_grant: true}, 'info')
  deps.ui.info(`Registered onramp as client ${client.client_id} at ${discovered.issuer}.`)
  return client.client_id
}

/** The authorization code grant through the loopback redirect (or a pasted one). */
async function redirectLogin(deps: Deps, prepared: Prepared, options: LoginOptions): Promise<LoginResult> {
  const {server, discovered, remembered} = prepared
  const state = randomState()
  const listener = await listenLoopback({
    host: server.redirect.host,
    ports: loopbackPorts(server, options.port, remembered),
    path: CALLBACK_PATH,
    expectedState: state,
    expectedIssuer: discovered.issuer,
    logger: deps.logger,
    onProblem: (message) => deps.ui.warn(message),
  })
  try {
    const registered = server.clientId ? undefined : await ensureRegisteredClient(deps, {discovered, listener, remembered, plan: prepared.plan, override: options.scopes})
    const clientId = server.clientId ?? registered!.clientId
    if (registered) prepared.plan = registered.plan
    const {plan} = prepared
    const client = createOAuthClient({discovered, clientId, http: deps.http})
    const pkce = createPkce()
    const codeVerifier = pkce.verifier
    // OpenID Connect: a nonce whenever `openid` is asked for, checked in the ID token (some servers require it).
    const nonce = plan.request.includes('openid') ? randomNonce() : undefined
    const url = await client.authorizationUrl({redirectUri: listener.redirectUri, scopes: plan.request, state, pkce, nonce})
    deps.logger.event('login.authorize', {issuer: server.issuer, client_id: clientId, redirect_uri: listener.redirectUri, scopes: plan.request}, 'info')

    const paste = await showAuthorizationUrl(deps, {url, redirectUri: listener.redirectUri, browser: options.browser, command: 'onramp login'})
    const refused = watchForRefusal(deps, {server, url, redirectUri: listener.redirectUri, clientId, remembered, port: options.port, timeoutSeconds: options.timeoutSeconds})
    const callback = await awaitCallback({
      listener,
      timeoutSeconds: options.timeoutSeconds,
      paste: paste ? deps.ui : undefined,
      // --no-browser with a stdin that ends (</dev/null, a closed pipe): nothing can be pasted, say how now.
      ...(options.browser ? {} : {pasteEnded: () => pasteNeedsTerminal('onramp login')}),
      signal: options.signal,
      explainTimeout: refused.explain,
    }).finally(refused.stop)
    const tokens = await exchange(deps, {client, plan, callback, listener, codeVerifier, state, nonce})
    return await saveLogin(deps, prepared, {client, tokens, grant: 'authorization_code'})
  } finally {
    await listener.close()
  }
}

/** A login that works is back well within this; only a slower one costs the probe's request. */
const PROBE_AFTER_MS = 10_000

/**
 * On a server whose accepted redirect ports onramp cannot know (not the built-in provider, not the port a
 * registered client was given, not --port): when no callback has come after a while (10 s, or half the
 * --timeout), asks the authorization endpoint once, as the browser did. A refusal before any login page is
 * warned about then, and explained again if the wait times out.
 */
function watchForRefusal(
  deps: Deps,
  {server, url, redirectUri, clientId, remembered, port, timeoutSeconds}: {
    server: Server
    url: URL
    redirectUri: string
    clientId: string
    remembered: RegisteredClient | undefined
    port: number | undefined
    timeoutSeconds: number
  },
): {explain: () => string | undefined; stop: () => void} {
  const knownPort = server.region !== null || port !== undefined || remembered?.redirect_uri === redirectUri
  if (knownPort) return {explain: () => undefined, stop: () => {}}
  let refusal: AuthorizeRefusal | undefined
  let waiting = true
  const timer = setTimeout(() => {
    void probeAuthorizationRequest(deps.http, url).then((found) => {
      refusal = found
      if (found && waiting) deps.ui.warn(`${explainRefusal({refusal: found, redirectUri, clientId})} (Ctrl-C stops the wait.)`)
      if (found) deps.logger.event('login.authorize_refused', {issuer: server.issuer, status: found.status, said: found.said ?? null}, 'info')
    })
  }, Math.min(PROBE_AFTER_MS, (timeoutSeconds * 1000) / 2))
  timer.unref?.()
  return {
    explain: () => explainRefusal({refusal, redirectUri, clientId}),
    stop: () => {
      waiting = false
      clearTimeout(timer)
    },
  }
}

/** Grant -> session (accept-grant.ts), the same for every way in. */
async function saveLogin(
  deps: Deps,
  {server, plan, store}: Prepared,
  {client, tokens, grant: grantType}: {client: OAuthClient; tokens: TokenSet; grant: 'authorization_code' | 'device_code'},
): Promise<LoginResult> {
  const {session, grant, storage} = await acceptGrant(deps, {
    plan,
    tokens,
    granted: tokens.scope,
    session: {issuer: server.issuer, client_id: client.clientId, region: server.region, kind: 'oauth'},
    store,
    revoke: () => client.revoke(tokens),
    revokeTokens: (left) => client.revoke(left),
    findUser: (granted) => findUser(deps, {client, accessToken: tokens.access_token, idTokenClaims: tokens.idTokenClaims, granted}),
  })
  deps.logger.event('login.success', {issuer: server.issuer, client_id: client.clientId, grant: grantType, scopes: grant.granted, storage: store.kind}, 'info')
  return {session: sessionView(session, {storage: storage ?? store.describe(), now: deps.now()}), missing_optional_scopes: grant.missingOptional}
}

function scopeReport(plan: Plan, client: OAuthClient) {
  return {surface: 'login' as const, issuer: client.issuer, clientId: client.clientId, requested: plan.request, required: plan.required, advertised: plan.advertised, ceiling: plan.ceiling}
}

/** How long the device wait lasts: the code's life, or --timeout when that ends it sooner. */
function waitingLine(expiresIn: number, timeoutSeconds: number): string {
  if (timeoutSeconds < expiresIn) {
    return `Waiting up to ${describeSeconds(timeoutSeconds)} for the approval (--timeout; the code expires in ${describeSeconds(expiresIn)}; Ctrl-C stops)...`
  }
  return `Waiting for the approval (the code expires in ${describeSeconds(expiresIn)}; Ctrl-C stops)...`
}

function describeSeconds(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`
  return `${Math.round(seconds / 60)} minutes`
}

/** The code exchange, with a scope refusal reported like every other (logged, naming the scopes). */
async function exchange(
  deps: Deps,
  {client, plan, callback, listener, codeVerifier, state, nonce}: {
    client: OAuthClient
    plan: Plan
    callback: URLSearchParams
    listener: CallbackListener
    codeVerifier: string
    state: string
    nonce: string | undefined
  },
): Promise<TokenSet> {
  const report = scopeReport(plan, client)
  const error = callback.get('error')
  if (error) {
    const description = callback.get('error_description') ?? undefined
    if (error === 'invalid_scope') throw invalidScope(deps.logger, {...report, source: 'authorize', missing: scopesNamedIn(description, plan.request), serverSaid: description})
    throw mapOAuthErrorInfo({error, description}, {step: 'authorize', issuer: client.issuer, clientId: client.clientId})
  }
  try {
    return await client.exchangeCode({redirectUri: listener.redirectUri, callback, codeVerifier, state, nonce})
  } catch (caught) {
    if (!(caught instanceof ScopeRefusal)) throw caught
    throw invalidScope(deps.logger, {...report, source: 'token', missing: scopesNamedIn(caught.serverSaid, plan.request), serverSaid: caught.serverSaid})
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

/**
 * The client onramp registered for itself (RFC 7591), reused when its redirect still fits, else registered
 * now; a new registration's plan is checked against what it granted (its ceiling) before any browser
 * opens, so a narrow ceiling stops here, naming --client-id, instead of at consent.
 */
async function ensureRegisteredClient(
  deps: Deps,
  {discovered, listener, remembered, plan, override}: {discovered: Discovered; listener: CallbackListener; remembered: RegisteredClient | undefined; plan: Plan; override: string | undefined},
): Promise<{clientId: string; plan: Plan}> {
  if (remembered && remembered.redirect_uri === listener.redirectUri) return {clientId: remembered.client_id, plan}
  const client = await registerClient({http: deps.http, discovered, now: deps.now}, {redirectUri: listener.redirectUri, scopes: plan.request})
  await rememberClient(deps.paths.config, client)
  deps.logger.event('oauth.client_registered', {issuer: discovered.issuer, client_id: client.client_id, redirect_uri: client.redirect_uri, scope: client.scope ?? null}, 'info')
  deps.ui.info(`Registered onramp as client ${client.client_id} at ${discovered.issuer}.`)
  if (!client.scope) return {clientId: client.client_id, plan}
  const checked = await planScopes(deps, {surface: 'login', discovered, clientId: client.client_id, override, ceiling: client.scope, selfRegistered: true})
  return {clientId: client.client_id, plan: checked}
}
