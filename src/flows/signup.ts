import type {Deps} from '../deps.js'
import {NetworkError, ScopeError, UsageError} from '../errors.js'
import {discover, type Discovered} from '../oauth/discovery.js'
import {readMe} from '../oauth/user.js'
import {requestAccount, type AccountRequestResult} from '../provisioning/account-requests.js'
import {readAppCeiling} from '../provisioning/app-ceiling.js'
import {provisioningDeps} from '../provisioning/deps.js'
import {introspectedScope} from '../provisioning/refresher.js'
import {provisionProject} from '../provisioning/resources.js'
import {exchangeProvisioningCode, type ProvisioningGrant} from '../provisioning/token.js'
import {planScopes} from '../scopes/plan.js'
import type {Plan} from '../scopes/preflight.js'
import type {ServerSelection} from '../select-server.js'
import type {Session} from '../session/session.js'
import type {SessionStore, StorageDescription} from '../session/store.js'
import {assertStoreUsable} from '../session/usable.js'
import {appendEnvFile, projectEnv} from '../output-env.js'
import {acceptGrant, revokeQuietly} from './accept-grant.js'
import {sessionView, type SessionView} from './session-view.js'
import {chooseServer} from './select-sessions.js'
import {consentForExistingAccount} from './signup-consent.js'

export interface SignupOptions extends ServerSelection {
  /** Already checked by isValidEmail() (the command prompts or refuses before any request). */
  email: string
  name?: string | undefined
  orgName?: string | undefined
  /** false: --no-store, the session is used for the project and then dropped. */
  store: boolean
  /** --output-env: append POSTHOG_PROJECT_API_KEY, POSTHOG_PROJECT_ID, POSTHOG_HOST (GitHub Actions `$GITHUB_ENV` format). */
  outputEnv?: string | undefined
  /** How long to wait for consent when the email already has an account (interactive only). */
  timeoutSeconds: number
}

/**
 * What `onramp signup --json` prints (schemas/signup.schema.json). `session` is null with --no-store:
 * a SessionView always says where it is stored, and nothing was.
 */
export interface SignupResult {
  account: {id: string}
  project: {id: string; api_key: string; host: string}
  session: SessionView | null
}

export interface SignupOutcome {
  result: SignupResult
  /** false when the email already had an account and its owner consented. */
  newAccount: boolean
  email: string
}

import {isValidEmail} from '../email.js'

export {isValidEmail}

/**
 * `onramp signup` (issue 10): an account, a project and a stored session from the terminal. Nothing is
 * created that cannot work: the app's provisioning flags and ceiling, and the signup scopes against
 * them and `scopes_supported`, are checked before `account_requests`; the grant is read back after the
 * exchange (the token response carries no scope) and refused, revoked and not kept when a required
 * scope is missing.
 */
export async function signup(deps: Deps, options: SignupOptions): Promise<SignupOutcome> {
  if (!isValidEmail(options.email)) throw invalidEmail(options.email)
  const {server} = await chooseServer(deps, options)
  const clientId = server.clientId
  if (!clientId) {
    throw new UsageError(`Signup needs the provisioning app's client id for ${server.issuer}: pass --client-id (or set ONRAMP_CLIENT_ID).`, {code: 'client_id_required'})
  }
  const issuer = server.issuer
  const pdeps = provisioningDeps(deps)
  // Checked before the account exists: a key that cannot reach the CI job means a signup to redo.
  if (options.outputEnv) await appendEnvFile(options.outputEnv, {})
  const discovered = await discover(deps, issuer)
  const ceiling = await readProvisioningCeiling(deps, {issuer, clientId})
  const plan = await planScopes(deps, {surface: 'signup', discovered, clientId, ceiling})

  // Checked before an account exists: a keychain that must exist but does not (exit 7), or an unwritable store.
  const store = options.store ? await deps.sessions() : undefined
  if (store) await assertStoreUsable(store)
  const answer = await requestAccountWithOneRetry(deps, {
    issuer,
    clientId,
    email: options.email,
    name: options.name,
    scopes: plan.request,
    region: server.region === 'eu' ? 'EU' : 'US',
    organizationName: options.orgName,
  })
  const code = answer.type === 'oauth' ? answer.code : await consentForExistingAccount(deps, {issuer, answer, email: options.email, timeoutSeconds: options.timeoutSeconds})
  // The verifier of the account request: its challenge is the public partner's only proof (server.md 4.4).
  const grant = await exchange(deps, {issuer, clientId, plan, code, verifier: answer.pkce.verifier})

  const {session, storage, revoke} = await keepGrant(deps, {discovered, clientId, plan, grant, store, region: server.region, newAccount: answer.type === 'oauth', email: options.email})
  let project
  try {
    project = await provisionProject(pdeps, {issuer, accessToken: session.access_token})
  } finally {
    // --no-store: nothing will ever use these tokens again, so they should not stay live on the server.
    if (!store) await revokeQuietly(deps, revoke)
  }
  if (options.outputEnv) await appendEnvFile(options.outputEnv, projectEnv(project))
  deps.logger.event('signup.success', {issuer, client_id: clientId, account_id: grant.account.id, project_id: project.id, stored: Boolean(store), new_account: answer.type === 'oauth'}, 'info')
  return {
    result: {
      account: {id: grant.account.id},
      project: {id: project.id, api_key: project.api_key, host: project.host},
      session: storage ? sessionView(session, {storage, now: deps.now()}) : null,
    },
    newAccount: answer.type === 'oauth',
    email: options.email,
  }
}

export function invalidEmail(value: string): UsageError {
  return new UsageError(`"${value.slice(0, 100)}" is not an email address (expected name@example.com). Nothing was sent.`, {code: 'invalid_email'})
}

/**
 * The app's provisioning flags and ceiling from `client_registration` (server.md 4.2), read once: an app
 * that may not create accounts stops here (exit 4: only the server's admins can change it); the ceiling
 * goes to the scope plan. A server that does not offer the endpoint skips the ceiling check.
 */
async function readProvisioningCeiling(deps: Deps, {issuer, clientId}: {issuer: string; clientId: string}): Promise<string[] | null> {
  const read = await readAppCeiling(provisioningDeps(deps), {issuer, clientId})
  if (read.kind === 'not-offered') {
    deps.logger.event('preflight.ceiling_skipped', {issuer, client_id: clientId, reason: read.reason}, 'info')
    return null
  }
  if (read.kind === 'registration-failed') {
    const failed = read.checks.find((check) => !check.ok)
    if (!failed || failed.name === 'registered') {
      throw new UsageError(`${issuer} does not know the app ${clientId} as a provisioning partner (${read.message}). Check --client-id. No account was requested.`, {
        code: 'registration_failed',
      })
    }
    throw provisioningRefused({issuer, clientId, why: read.message})
  }
  const {active, can_create_accounts: canCreate} = read.provisioning
  if (active === false) throw provisioningRefused({issuer, clientId, why: 'the app is deactivated as a provisioning partner'})
  if (canCreate === false) throw provisioningRefused({issuer, clientId, why: 'the app may not create accounts (can_create_accounts is false)'})
  return read.scopes
}

function provisioningRefused({issuer, clientId, why}: {issuer: string; clientId: string; why: string}): ScopeError {
  return new ScopeError(
    `${issuer} does not let the app ${clientId} sign people up: ${why}. The server's admins must enable account creation for this app. No account was requested. ` +
      'If you already have an account, run onramp login instead.',
    {code: 'account_creation_disabled', nextCommand: 'onramp login'},
  )
}

/**
 * account_requests, retried once when the answer was lost (a timeout, a 5xx): the first attempt may
 * have created the account, and then the retry answers requires_auth. Each attempt gets a fresh `id`
 * (only echoed by the server) and the same PKCE pair.
 */
async function requestAccountWithOneRetry(deps: Deps, request: Parameters<typeof requestAccount>[1]): Promise<AccountRequestResult & {afterLostAnswer?: boolean}> {
  const pdeps = provisioningDeps(deps)
  try {
    return await requestAccount(pdeps, request)
  } catch (error) {
    if (!(error instanceof NetworkError) || error.code === 'rate_limited') throw error
    deps.logger.event('signup.account_request_retry', {issuer: request.issuer, error: error.message}, 'warn')
    deps.ui.info(`The account request failed (${error.message}); trying once more.`)
    const retried = await requestAccount(pdeps, request)
    if (retried.type !== 'requires_auth') return retried
    deps.ui.warn(
      `The first account request probably created the account for ${request.email} (its answer was lost): PostHog now asks its owner to authorize onramp.`,
    )
    return {...retried, afterLostAnswer: true}
  }
}

/**
 * The code exchange at the provisioning token endpoint. An `invalid_scope` here comes after the account
 * was created (scopes are not checked at account_requests): say so, and how to reach the account.
 */
async function exchange(deps: Deps, {issuer, clientId, plan, code, verifier}: {issuer: string; clientId: string; plan: Plan; code: string; verifier: string}): Promise<ProvisioningGrant> {
  try {
    return await exchangeProvisioningCode(provisioningDeps(deps), {issuer, code, verifier, scopes: plan.request, clientId})
  } catch (error) {
    if (!(error instanceof ScopeError)) throw error
    throw new ScopeError(
      `${error.message} Your account was created: once the admins allow these scopes for the app, run onramp login (or onramp signup again with the same email) to reach it.`,
      {code: error.code, nextCommand: 'onramp login', cause: error},
    )
  }
}

/**
 * The grant read back (a provisioning token response has no `scope`) and handed to acceptGrant(): a
 * missing required scope is exit 4, revoked, nothing kept. RFC 7662 introspection when offered; else a
 * call that needs `user:read` (a 403 there means it was not granted; nothing else can be known).
 */
async function keepGrant(
  deps: Deps,
  input: {discovered: Discovered; clientId: string; plan: Plan; grant: ProvisioningGrant; store: SessionStore | undefined; region: Session['region']; newAccount: boolean; email: string},
): Promise<{session: Session; storage: StorageDescription | null; revoke: () => Promise<unknown>}> {
  const {discovered, clientId, plan, grant} = input
  const issuer = discovered.issuer
  const accessToken = grant.access_token
  // The account exists by now: a read-back that fails (5xx, timeout) must not strand the new tokens, so it
  // counts as "unknown" and the user lookup below decides, as for a server without introspection.
  const introspected = await introspectedScope(deps, {issuer, clientId, accessToken, introspectionEndpoint: discovered.metadata.introspection_endpoint}).catch(
    (error: unknown) => {
      deps.logger.event('signup.grant_readback_failed', {issuer, error: error instanceof Error ? error.message : String(error)}, 'warn')
      return undefined
    },
  )
  const me = await readMe(deps, {issuer, accessToken}) // who signed up, and whether user:read works
  const granted = introspected ?? (me.status === 403 ? plan.request.filter((scope) => scope !== 'user:read').join(' ') : undefined)
  // RFC 7009 at the OAuth revocation endpoint: the provisioning token is the same token model (server.md 3, 4).
  const revoke = async () => {
    const {createOAuthClient} = await import('../oauth/client.js')
    return createOAuthClient({discovered, clientId, http: deps.http}).revoke({access_token: accessToken, refresh_token: grant.refresh_token})
  }
  const created = input.newAccount ? 'The account was created, but the server minted its token with too few scopes' : 'The server minted the token with too few scopes'
  const {session, storage} = await acceptGrant(deps, {
    plan,
    tokens: {access_token: accessToken, refresh_token: grant.refresh_token, expires_in: grant.expires_in ?? undefined, scope: introspected},
    granted,
    session: {issuer, client_id: clientId, region: input.region, kind: 'provisioning'},
    store: input.store,
    revoke,
    revokeTokens: async (left) => {
      const {createOAuthClient} = await import('../oauth/client.js')
      return createOAuthClient({discovered, clientId, http: deps.http}).revoke(left)
    },
    // The account the session is kept under: the email signed up with when the server does not say.
    findUser: async () => ({...me.user, email: me.user?.email ?? input.email}),
    refusedAs: 'provisioning',
    refusalOutcome: `${created}; it was revoked and nothing was stored. Once the admins fix the app, run onramp login to reach the account.`,
  })
  return {session, storage, revoke}
}

