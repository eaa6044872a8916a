import type {Deps} from '../deps.js'
import {UsageError} from '../errors.js'
import {awaitCallback} from '../oauth/await-callback.js'
import {createOAuthClient, randomCodeVerifier, randomState, ScopeRefusal, type OAuthClient, type TokenSet} from '../oauth/client.js'
import {discover, type Discovered} from '../oauth/discovery.js'
import {mapOAuthErrorInfo} from '../oauth/errors.js'
import {listenLoopback, type CallbackListener} from '../oauth/loopback.js'
import {registerClient, rememberClient, rememberedClient, type RegisteredClient} from '../oauth/registration.js'
import {findUser} from '../oauth/user.js'
import {invalidScope, scopesNamedIn} from '../scopes/invalid-scope.js'
import {planScopes} from '../scopes/plan.js'
import type {Plan} from '../scopes/preflight.js'
import {CALLBACK_PATH, resolveServer, type Server, type ServerSelection} from '../select-server.js'
import {assertStoreUsable} from '../session/usable.js'
import {acceptGrant} from './accept-grant.js'
import {sessionView, type SessionView} from './session-view.js'

export interface LoginOptions extends ServerSelection {
  /** --scopes: replaces the requested set; every scope in it is required. */
  scopes?: string | undefined
  browser: boolean
  port?: number | undefined
  timeoutSeconds: number
}

export interface LoginResult {
  session: SessionView
  missing_optional_scopes: string[]
}

/**
 * `onramp login`: PKCE (RFC 7636, S256) authorization-code login through a loopback redirect (RFC 8252).
 * Everything that can fail without the user is checked before the browser opens: the server's metadata,
 * the scopes against `scopes_supported` and the app's ceiling, the session store, the loopback port.
 */
export async function login(deps: Deps, options: LoginOptions): Promise<LoginResult> {
  const server = resolveServer(options)
  const discovered = await discover(deps, server.issuer)
  const plan = await planScopes(deps, {surface: 'login', discovered, clientId: server.clientId, override: options.scopes})
  // Opened and checked before the browser: a keychain that must exist but does not (exit 7), or a
  // corrupt or unwritable store, fails before anyone consents to a grant that could not be kept.
  const store = await deps.sessions()
  await assertStoreUsable(store)

  const remembered = server.clientId ? undefined : rememberedClient({configDir: deps.paths.config, issuer: server.issuer})
  if (!server.clientId && !remembered && !discovered.metadata.registration_endpoint) {
    throw new UsageError(`${server.issuer} has no dynamic client registration: pass --client-id (or set ONRAMP_CLIENT_ID).`, {code: 'client_id_required'})
  }

  const state = randomState()
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
    const client = createOAuthClient({discovered, clientId, http: deps.http})
    const codeVerifier = randomCodeVerifier()
    const url = await client.authorizationUrl({redirectUri: listener.redirectUri, scopes: plan.request, state, codeVerifier})
    deps.logger.event('login.authorize', {issuer: server.issuer, client_id: clientId, redirect_uri: listener.redirectUri, scopes: plan.request}, 'info')

    const paste = await showAuthorizationUrl(deps, {url, redirectUri: listener.redirectUri, browser: options.browser})
    const callback = await awaitCallback({listener, timeoutSeconds: options.timeoutSeconds, paste: paste ? deps.ui : undefined})
    const tokens = await exchange(deps, {client, plan, callback, listener, codeVerifier, state})

    const {session, grant, storage} = await acceptGrant(deps, {
      plan,
      tokens,
      granted: tokens.scope,
      session: {issuer: server.issuer, client_id: clientId, region: server.region, kind: 'oauth'},
      store,
      revoke: () => client.revoke(tokens),
      findUser: (granted) => findUser(deps, {client, accessToken: tokens.access_token, idTokenClaims: tokens.idTokenClaims, granted}),
    })
    deps.logger.event('login.success', {issuer: server.issuer, client_id: clientId, scopes: grant.granted, storage: store.kind}, 'info')
    return {session: sessionView(session, {storage: storage ?? store.describe(), now: deps.now()}), missing_optional_scopes: grant.missingOptional}
  } finally {
    await listener.close()
  }
}

/**
 * Prints the URL (always: `open` succeeds even where no browser exists) and opens the browser. Returns
 * whether pasted redirect URLs are accepted: with --no-browser, and on a terminal when no browser could open.
 */
async function showAuthorizationUrl(deps: Deps, {url, redirectUri, browser}: {url: URL; redirectUri: string; browser: boolean}): Promise<boolean> {
  const pasteHint = `then paste the address you are sent back to here (it starts with ${redirectUri})`
  if (!browser) {
    deps.ui.info(`Open this URL in a browser, ${pasteHint}:\n  ${url.href}`)
    return true
  }
  deps.ui.info(`Open this URL in your browser to continue:\n  ${url.href}`)
  const unavailable = deps.browser.unavailableReason()
  const opened = unavailable ? {opened: false as const, reason: unavailable} : await deps.browser.open(url.href)
  if (opened.opened) return false
  const next = deps.ui.interactive
    ? `Open the URL above on any machine, ${pasteHint}; a redirect that reaches this machine also works.`
    : 'Open the URL above in a browser on this machine, or run onramp login --no-browser to paste the redirect instead.'
  deps.ui.warn(`No browser could be opened: ${opened.reason}. ${next}`)
  return deps.ui.interactive
}

/** The code exchange, with a scope refusal reported like every other (logged, naming the scopes). */
async function exchange(
  deps: Deps,
  {client, plan, callback, listener, codeVerifier, state}: {client: OAuthClient; plan: Plan; callback: URLSearchParams; listener: CallbackListener; codeVerifier: string; state: string},
): Promise<TokenSet> {
  const report = {surface: 'login' as const, issuer: client.issuer, clientId: client.clientId, requested: plan.request, required: plan.required, advertised: plan.advertised, ceiling: plan.ceiling}
  const error = callback.get('error')
  if (error) {
    const description = callback.get('error_description') ?? undefined
    if (error === 'invalid_scope') throw invalidScope(deps.logger, {...report, source: 'authorize', missing: scopesNamedIn(description, plan.request), serverSaid: description})
    throw mapOAuthErrorInfo({error, description}, {step: 'authorize', issuer: client.issuer, clientId: client.clientId})
  }
  try {
    return await client.exchangeCode({redirectUri: listener.redirectUri, callback, codeVerifier, state})
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

async function ensureRegisteredClient(
  deps: Deps,
  {discovered, listener, remembered, scopes}: {discovered: Discovered; listener: CallbackListener; remembered: RegisteredClient | undefined; scopes: readonly string[]},
): Promise<string> {
  if (remembered && remembered.redirect_uri === listener.redirectUri) return remembered.client_id
  const client = await registerClient({http: deps.http, discovered, now: deps.now}, {redirectUri: listener.redirectUri, scopes})
  await rememberClient(deps.paths.config, client)
  deps.logger.event('oauth.client_registered', {issuer: discovered.issuer, client_id: client.client_id, redirect_uri: client.redirect_uri}, 'info')
  deps.ui.info(`Registered onramp as client ${client.client_id} at ${discovered.issuer}.`)
  return client.client_id
}
