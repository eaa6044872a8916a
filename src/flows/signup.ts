import type {Deps} from '../deps.js'
import {AccountKeptError, NetworkError, OnrampError, ScopeError, UsageError} from '../errors.js'
import {discover, type Discovered} from '../oauth/discovery.js'
import {readMe} from '../oauth/user.js'
import {requestAccount, type AccountRequestResult} from '../provisioning/account-requests.js'
import {readAppCeiling} from '../provisioning/app-ceiling.js'
import type {ProvisioningDeps} from '../provisioning/api.js'
import {provisioningDeps} from '../provisioning/deps.js'
import {introspectedGrant} from '../provisioning/refresher.js'
import {ProjectAnswerUnreadableError, provisionProject, showProject, type ProvisionedProject} from '../provisioning/resources.js'
import {rememberSecret} from '../redact.js'
import {exchangeProvisioningCode, type ProvisioningGrant} from '../provisioning/token.js'
import {planScopes} from '../scopes/plan.js'
import type {Plan} from '../scopes/preflight.js'
import type {ServerSelection} from '../select-server.js'
import type {Session} from '../session/session.js'
import type {SessionStore, StorageDescription} from '../session/store.js'
import {assertStoreUsable} from '../session/usable.js'
import {appendEnvFile, EnvNotWrittenError, projectEnv} from '../output-env.js'
import {serverText} from '../terminal-text.js'
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
  /** `id`: the organization, from the token answer's `account` or else `/api/users/@me/`; null when neither said. */
  account: {id: string | null; email: string}
  /** `personal_api_key` (`phx_`) only when the server issued one (apps with that grant, on create). */
  project: {id: string; api_key: string; host: string; personal_api_key: string | null}
  session: SessionView | null
  /** The --output-env file and the variables appended to it (a personal API key is always named), or null. */
  env_file: {path: string; variables: string[]} | null
  /** True with --no-store: the tokens were revoked once the project was made (which ends this account's other sessions of this app too). */
  tokens_revoked: boolean
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
  // From here on the account exists: every failure says so, what was kept, and the one command that continues.
  const kept: Kept = {email: options.email, newAccount: answer.type === 'oauth', storage: null, revoked: false, projectId: null, teams: []}
  try {
    return await afterAccountExists(deps, {options, issuer, clientId, discovered, plan, store, region: server.region, answer, kept})
  } catch (error) {
    throw accountKept(error, kept)
  }
}

/** What exists and what was kept so far, for the message of a failure after the account exists. */
interface Kept {
  email: string
  newAccount: boolean
  /** Where the session was stored; null while it is not (yet). */
  storage: StorageDescription | null
  /** --no-store (or a refused grant): the tokens were revoked. */
  revoked: boolean
  projectId: string | null
  /** The projects the token answer named (the signup project first). */
  teams: string[]
}

async function afterAccountExists(
  deps: Deps,
  input: {
    options: SignupOptions
    issuer: string
    clientId: string
    discovered: Discovered
    plan: Plan
    store: SessionStore | undefined
    region: Session['region']
    answer: AccountRequestResult
    kept: Kept
  },
): Promise<SignupOutcome> {
  const {options, issuer, clientId, discovered, plan, store, answer, kept} = input
  const pdeps = provisioningDeps(deps)
  const code = answer.type === 'oauth' ? answer.code : await consentForExistingAccount(deps, {issuer, answer, email: options.email, timeoutSeconds: options.timeoutSeconds})
  // The verifier of the account request: its challenge is the public partner's only proof (server.md 4.4).
  const grant = await exchange(deps, {issuer, clientId, plan, code, verifier: answer.pkce.verifier})
  kept.teams = (grant.account?.available_teams ?? []).map((team) => String(team.id))

  const {session, storage, revoke, organizationId} = await keepGrant(deps, {discovered, clientId, plan, grant, store, region: input.region, kept})
  kept.storage = storage
  let project: ProvisionedProject
  try {
    project = await createSignupProject(pdeps, {issuer, accessToken: session.access_token, kept})
  } finally {
    // --no-store: nothing will ever use these tokens again, so they should not stay live on the server.
    if (!store) {
      await revokeQuietly(deps, revoke)
      kept.revoked = true
    }
  }
  kept.projectId = project.id
  if (project.personal_api_key) rememberSecret(project.personal_api_key)
  const values = projectEnv(project)
  const envFile = options.outputEnv ? {path: options.outputEnv, variables: await writeProjectEnv(options.outputEnv, values)} : null
  const accountId = grant.account?.id ?? organizationId
  deps.logger.event('signup.success', {issuer, client_id: clientId, account_id: accountId, project_id: project.id, stored: Boolean(store), new_account: kept.newAccount}, 'info')
  return {
    result: {
      account: {id: accountId, email: options.email},
      project: {id: project.id, api_key: project.api_key, host: project.host, personal_api_key: project.personal_api_key ?? null},
      session: storage ? sessionView(session, {storage, now: deps.now()}) : null,
      env_file: envFile,
      tokens_revoked: kept.revoked,
    },
    newAccount: kept.newAccount,
    email: options.email,
  }
}

/**
 * POST resources for the signup project. An answer that is incomplete or cannot be read is read back once
 * (GET the resource: the answer's id, else the one project the token answer named), as the wizard does:
 * the project exists either way. The read-back never carries a personal API key (views/resources.py).
 */
async function createSignupProject(deps: ProvisioningDeps, {issuer, accessToken, kept}: {issuer: string; accessToken: string; kept: Kept}): Promise<ProvisionedProject> {
  try {
    return await provisionProject(deps, {issuer, accessToken})
  } catch (error) {
    if (!(error instanceof ProjectAnswerUnreadableError)) throw error
    const id = error.projectId ?? (kept.teams.length === 1 ? kept.teams[0]! : null)
    if (id === null) throw error
    kept.projectId = id
    deps.logger.event('signup.project_readback', {issuer, project_id: id, reason: error.code}, 'warn')
    try {
      return await showProject(deps, {issuer, accessToken, id})
    } catch (readBack) {
      deps.logger.event('signup.project_readback_failed', {issuer, project_id: id, error: readBack instanceof Error ? readBack.message : String(readBack)}, 'warn')
      throw error
    }
  }
}

/**
 * --output-env after the project exists. Unwritable: the values go with the error, for the command to
 * print on the terminal (never to a log); a value that cannot be written safely (CR, LF, NUL) is exit 6.
 */
async function writeProjectEnv(file: string, values: Record<string, string>): Promise<string[]> {
  try {
    return await appendEnvFile(file, values)
  } catch (error) {
    if (error instanceof OnrampError && error.code === 'output_env_unwritable') throw new EnvNotWrittenError(error, values)
    throw error
  }
}

/**
 * A failure after the account exists, rewritten to say so: the account (email), what was kept (session
 * stored or revoked, project id) and the one command that continues, with the exit code of its cause.
 * Never "try again in a minute": a retry of signup would only meet "already has an account".
 */
function accountKept(error: unknown, kept: Kept): unknown {
  if (!(error instanceof OnrampError) || error instanceof AccountKeptError) return error
  const email = serverText(kept.email)
  const account = kept.newAccount ? `Your PostHog account ${email} was created and exists` : `The account ${email} exists and authorized onramp`
  const project = kept.projectId ? `, and so does project ${serverText(kept.projectId)}` : ''
  const session = kept.storage
    ? `The session is stored (${kept.storage.kind}: ${kept.storage.location}).`
    : kept.revoked
      ? 'The session was not stored (--no-store) and its tokens were revoked.'
      : 'No session was stored.'
  const next = kept.storage
    ? kept.projectId
      ? `onramp projects show ${kept.projectId}`
      : 'onramp projects create --id ID'
    : 'onramp login'
  const cause = error.message.replace(/\s*(A proxy or an outage may be in the way: )?try again in a minute\./gi, '').replace(/\s*This is a server-side failure: retry in a minute\./gi, '')
  const message = `${cause} ${account}${project}: do not sign up again. ${session} Continue with: ${next}`
  return new AccountKeptError(message, error, {email: kept.email, next, ...(error instanceof EnvNotWrittenError ? {unwritten: error.values} : {})})
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
    // `client_exists` (ee/api/agentic_provisioning/views/client_registration.py); `registered` was the mock's old name.
    if (!failed || failed.name === 'client_exists' || failed.name === 'registered' || failed.name === 'metadata_document') {
      throw new UsageError(
        `${issuer} does not know the client id ${clientId} (${read.message}; checked at ${issuer.replace(/\/+$/, '')}/api/agentic/provisioning/client_registration). ` +
          'Check --client-id (or ONRAMP_CLIENT_ID): it must be a provisioning app registered on this server. No account was requested.',
        {code: 'unknown_client'},
      )
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
 * missing required scope is exit 4, revoked, nothing kept. The read-back is self-introspection (the
 * token's own Bearer, what PostHog lets a public client do); when the server will not say, the session is
 * kept as requested but marked unverified, with the reason, unless `/api/users/@me/` answers 403 (then
 * `user:read` was certainly not granted).
 */
async function keepGrant(
  deps: Deps,
  input: {discovered: Discovered; clientId: string; plan: Plan; grant: ProvisioningGrant; store: SessionStore | undefined; region: Session['region']; kept: Kept},
): Promise<{session: Session; storage: StorageDescription | null; revoke: () => Promise<unknown>; organizationId: string | null}> {
  const {discovered, clientId, plan, grant, kept} = input
  const issuer = discovered.issuer
  const accessToken = grant.access_token
  const read = await introspectedGrant(deps, {accessToken, introspectionEndpoint: discovered.metadata.introspection_endpoint})
  const me = await readMe(deps, {issuer, accessToken})
  let granted: string | undefined
  let unverified: string | undefined
  if (read.kind === 'active') granted = read.scopes.join(' ')
  else if (read.kind === 'inactive') granted = ''
  else if (me.status === 403) granted = plan.request.filter((scope) => scope !== 'user:read').join(' ')
  else {
    unverified = read.reason
    deps.ui.warn(`Could not confirm which scopes the server granted (${read.reason}): the session is kept with the scopes requested, marked unverified.`)
  }
  // RFC 7009 at the OAuth revocation endpoint: the provisioning token is the same token model (server.md 3, 4).
  const revoke = async () => {
    const {createOAuthClient} = await import('../oauth/client.js')
    return createOAuthClient({discovered, clientId, http: deps.http}).revoke({access_token: accessToken, refresh_token: grant.refresh_token})
  }
  const created = kept.newAccount ? 'The account was created, but the server minted its token with too few scopes' : 'The server minted the token with too few scopes'
  try {
    const {session, storage} = await acceptGrant(deps, {
      plan,
      tokens: {access_token: accessToken, refresh_token: grant.refresh_token, expires_in: grant.expires_in ?? undefined, scope: granted},
      granted,
      ...(unverified ? {unverified} : {}),
      session: {issuer, client_id: clientId, region: input.region, kind: 'provisioning'},
      store: input.store,
      revoke,
      revokeTokens: async (left) => {
        const {createOAuthClient} = await import('../oauth/client.js')
        return createOAuthClient({discovered, clientId, http: deps.http}).revoke(left)
      },
      // The account the session is kept under: the email signed up with when the server does not say.
      findUser: async () => ({...me.user, email: me.user?.email ?? kept.email}),
      refusedAs: 'provisioning',
      refusalOutcome: `${created}; it was revoked and nothing was stored. The account ${serverText(kept.email)} exists: do not sign up again; once the admins fix the app, run onramp login to reach it.`,
    })
    return {session, storage, revoke, organizationId: me.organizationId}
  } catch (error) {
    // acceptGrant revokes what it refuses or cannot store.
    kept.revoked = true
    throw error instanceof ScopeError ? new AccountKeptError(error.message, error, {email: kept.email, next: 'onramp login'}) : error
  }
}

