/**
 * `onramp projects create|show|rotate-key|remove` (issue 11; server.md 4.2 "Bearer resource endpoints"):
 * per-run projects for CI with the provisioning session `onramp signup` stores, or ONRAMP_TOKEN.
 *
 * The session: a stored one chosen like `token` chooses (src/flows/select-sessions.ts), preferring a
 * provisioning session; refreshed under the lock when it is about to expire (ensureFresh), and once more
 * when the server answers 401 to its access token (withTokenRefresh). ONRAMP_TOKEN is used as-is.
 */
import type {Deps} from '../deps.js'
import {AccountKeptError, NotLoggedInError, OnrampError, ScopeError, SessionExpiredError, UsageError} from '../errors.js'
import {serverText} from '../terminal-text.js'
import {appendEnvFile, projectEnv} from '../output-env.js'
import {ProvisioningTokenRejectedError} from '../provisioning/errors.js'
import type {ProvisionedProject} from '../provisioning/resources.js'
import type {Server, ServerSelection} from '../select-server.js'
import {isExpiring, REFRESH_MARGIN_SECONDS, type Session} from '../session/session.js'
import {envToken} from '../session/env-token.js'
import type {SessionStore} from '../session/store.js'
import {chooseFor, selectOneSession} from './select-sessions.js'
import {envSessionView, sessionView, type SessionView} from './session-view.js'
import {provisioningDeps} from '../provisioning/deps.js'

/** A project as every `projects` command shows it; `personal_api_key` only when the server issues one (create, rotate-key; never show). */
export interface ProjectView {
  /** The project (PostHog team) id: what show, rotate-key and remove take. */
  id: string
  api_key: string
  host: string
  personal_api_key: string | null
}

export interface ProjectCreateResult {
  project: ProjectView
  /** The partner id given with --id (the idempotency key). */
  project_id: string
  /** false: the project already existed for this --id; null: onramp could not tell (see createProject). */
  created: boolean | null
  /** The --output-env file written, or null. */
  env_file: string | null
  /** The variables appended to it (POSTHOG_PERSONAL_API_KEY named whenever written), or null. */
  env_variables: string[] | null
  session: SessionView
}

export interface ProjectShowResult {
  project: ProjectView
  env_file: string | null
  env_variables: string[] | null
  session: SessionView
}

/** rotate-key's result: show's shape, with the new key. */
export type ProjectRotateResult = ProjectShowResult

export interface ProjectRemoveResult {
  /** False when the confirmation was declined: nothing was removed (exit 0). */
  removed: boolean
  id: string
  session: SessionView
}


/** `minValidSeconds` that makes ensureFresh refresh whatever the stored expiry says (after a 401). */
const FORCE_REFRESH_SECONDS = 100 * 365 * 24 * 3600

/** The credential a projects command acts with: where it points, how to show it, and how to call with it. */
interface BearerSession {
  issuer: string
  clientId: string | undefined
  view: () => SessionView
  /** Runs `call` with the access token; a 401 gets one refresh and one retry (stored sessions only). */
  call<T>(call: (accessToken: string) => Promise<T>): Promise<T>
}

/**
 * The session for the resource endpoints: ONRAMP_TOKEN, else the selected issuer's provisioning session
 * (newest first), else its login session (which the endpoints may refuse: explained then).
 */
async function openBearerSession(deps: Deps, selection: ServerSelection): Promise<BearerSession> {
  const fromEnv = envToken(deps.env)
  if (fromEnv) return envBearerSession(deps, (await chooseFor(deps, selection, {sessions: []})).choice.server, fromEnv)

  const {store, session: read, storage, issuer, choice} = await selectOneSession(deps, selection, {prefer: 'provisioning'})
  if (!read || !storage) {
    const who = choice.explicit.account && choice.account ? ` of ${choice.account}` : ''
    throw new NotLoggedInError(
      `No provisioning session${who} for ${issuer}. Run onramp signup to create one (a CI job can set ONRAMP_TOKEN to a provisioning access token instead).`,
      {code: 'no_provisioning_session', nextCommand: 'onramp signup'},
    )
  }
  let current: Session = read
  if (isExpiring(current, deps.now(), REFRESH_MARGIN_SECONDS)) current = await refreshStored(deps, {store, session: current})
  return {
    issuer,
    clientId: current.client_id,
    view: () => sessionView(current, {storage, now: deps.now()}),
    async call(call) {
      const {withTokenRefresh} = await import('../provisioning/resources.js')
      try {
        return await withTokenRefresh(
          {
            accessToken: current.access_token,
            refresh: async () => {
              current = await refreshAfterRejection(deps, {store, session: current})
              return current.access_token
            },
          },
          call,
        )
      } catch (error) {
        throw current.kind === 'oauth' ? explainLoginSession(error, current) : error
      }
    },
  }
}

function envBearerSession(deps: Deps, server: Server, token: string): BearerSession {
  return {
    issuer: server.issuer,
    clientId: server.clientId,
    view: () => envSessionView(server.issuer),
    async call(call) {
      try {
        return await call(token)
      } catch (error) {
        // Nothing to refresh: the variable holds an access token only.
        if (!(error instanceof ProvisioningTokenRejectedError) || !error.refreshable) throw error
        throw new SessionExpiredError(
          `${error.message.replace(/ If refreshing does not help.*$/, '')} ONRAMP_TOKEN is used as-is and cannot be refreshed: a provisioning access token lives 1 hour. ` +
            'Set it to a fresh one (onramp token prints one from a stored provisioning session), or unset it to use the stored session.',
          {code: 'onramp_token_rejected', nextCommand: 'onramp token', cause: error},
        )
      }
    },
  }
}

/** Refresh under the lock (ensureFresh, with the refresher of the session's kind). */
async function refreshStored(deps: Deps, {store, session, minValidSeconds}: {store: SessionStore; session: Session; minValidSeconds?: number}): Promise<Session> {
  const {ensureFresh} = await import('./refresh.js')
  const fresh = await ensureFresh(deps, {store, session, ...(minValidSeconds === undefined ? {} : {minValidSeconds})})
  return fresh.session
}

/**
 * After a 401: another process may already have refreshed (the store holds a newer token); otherwise
 * refresh now whatever the stored expiry says. Provisioning refresh tokens rotate with no grace period,
 * so the new pair is stored under the lock before the retry uses it.
 */
async function refreshAfterRejection(deps: Deps, {store, session}: {store: SessionStore; session: Session}): Promise<Session> {
  const stored = (await store.get(session)) ?? session
  if (stored.access_token !== session.access_token && !isExpiring(stored, deps.now(), REFRESH_MARGIN_SECONDS)) return stored
  if (!stored.refresh_token) {
    throw new SessionExpiredError(`${session.issuer} refused this session's access token, and the session has no refresh token to get another.`, {
      code: 'session_expired',
      nextCommand: 'onramp signup',
    })
  }
  return refreshStored(deps, {store, session: stored, minValidSeconds: FORCE_REFRESH_SECONDS})
}

/**
 * A login session (`onramp login`) that the resource endpoints refused: its app may not be a
 * provisioning partner, or its token not one they accept. Projects need the session signup stores.
 */
function explainLoginSession(error: unknown, session: Session): unknown {
  const refused =
    error instanceof SessionExpiredError || (error instanceof ScopeError && (error.code === 'partner_deactivated' || error.code === 'provisioning_disabled'))
  if (!refused) return error
  return new NotLoggedInError(
    `The project endpoints of ${session.issuer} refused the login session of app ${session.client_id} (${(error as OnrampError).message}) ` +
      'Projects are provisioned with a provisioning session: run onramp signup to get one, then run this command again.',
    {code: 'provisioning_session_required', nextCommand: 'onramp signup', cause: error},
  )
}

function projectView(project: ProvisionedProject): ProjectView {
  return {id: project.id, api_key: project.api_key, host: project.host, personal_api_key: project.personal_api_key ?? null}
}

/**
 * --output-env after the project answer. The project exists (or was re-keyed) whatever happens here: a
 * file that cannot be written carries the values to the command, which shows them on the terminal only.
 */
async function writeEnv(file: string | undefined, project: ProjectView, session: SessionView): Promise<{env_file: string | null; env_variables: string[] | null}> {
  if (file === undefined) return {env_file: null, env_variables: null}
  const values = projectEnv(project)
  try {
    return {env_file: file, env_variables: await appendEnvFile(file, values)}
  } catch (error) {
    if (!(error instanceof OnrampError)) throw error
    const email = session.user?.email ?? null
    const next = `onramp projects show ${project.id} --output-env ${file}`
    const unwritten = error.code === 'output_env_unwritable' ? values : undefined
    throw new AccountKeptError(
      `${error.message} Project ${serverText(project.id)} exists${email ? ` in the account ${serverText(email)}` : ''} and the session is kept. Continue with: ${next}`,
      error,
      {email: email ?? '', next, ...(unwritten ? {unwritten} : {})},
    )
  }
}

export interface ProjectCreateOptions extends ServerSelection {
  /** The partner project id (--id): the same id returns the same project. */
  projectId: string
  /** --name: used only when the project is new (server.md 4.2). */
  name?: string | undefined
  outputEnv?: string | undefined
}

/**
 * POST resources with `project_id`. The server answers the same for a new project and an existing one,
 * so `created` is read from the token's scoped teams just before the call (RFC 7662 introspection,
 * PostHog's `scoped_teams`): a project this token already reached existed. When introspection is not
 * available (no endpoint, an unknown client for ONRAMP_TOKEN), `created` is null. A project another
 * session of the same organization linked to this id first shows as created the first time this
 * session reaches it: the token could not see it before.
 */
export async function createProject(deps: Deps, options: ProjectCreateOptions): Promise<ProjectCreateResult> {
  if (options.projectId.trim() === '') throw new UsageError('--id must not be empty: it names the project, e.g. --id "run-$GITHUB_RUN_ID".', {code: 'usage'})
  const {provisionProject} = await import('../provisioning/resources.js')
  const bearer = await openBearerSession(deps, options)
  const api = provisioningDeps(deps)
  const {project, before} = await bearer.call(async (accessToken) => {
    const before = await scopedTeams(deps, {issuer: bearer.issuer, clientId: bearer.clientId, accessToken})
    const project = await provisionProject(api, {
      issuer: bearer.issuer,
      accessToken,
      projectId: options.projectId,
      ...(options.name === undefined ? {} : {projectName: options.name}),
    })
    return {project, before}
  })
  const view = projectView(project)
  const created = before === null ? null : !before.includes(Number(project.id))
  return {project: view, project_id: options.projectId, created, ...(await writeEnv(options.outputEnv, view, bearer.view())), session: bearer.view()}
}

/** The teams `accessToken` reaches now, or null when the server does not say (or introspection fails). */
async function scopedTeams(deps: Deps, {issuer, accessToken}: {issuer: string; clientId: string | undefined; accessToken: string}): Promise<number[] | null> {
  try {
    const [{discover}, {readGrantedScopes}] = await Promise.all([import('../oauth/discovery.js'), import('../provisioning/introspection.js')])
    const {metadata} = await discover(deps, issuer)
    if (!metadata.introspection_endpoint) return null
    const granted = await readGrantedScopes(deps, {introspectionEndpoint: metadata.introspection_endpoint, token: accessToken})
    return granted.kind === 'active' ? granted.scoped_teams : null
  } catch (error) {
    // Only `created` depends on it: the project itself is still created or found.
    deps.logger.event('projects.introspection_failed', {issuer, error: (error as Error).message}, 'info')
    return null
  }
}

export interface ProjectIdOptions extends ServerSelection {
  /** The project (team) id that create printed; or, with `byCreateId`, the --id it was created with. */
  id: string
  /** `id` is the create id (--id ci-1), resolved to the project id first. */
  byCreateId?: boolean
}

/**
 * The project id for `options`: the id as given, or the project the create id (--id) names. The
 * provisioning API finds a project by its create id only through create itself (POST resources with
 * `project_id`, idempotent); the token's scoped teams read just before tell a project that existed from
 * one this call made, and a project this call made is removed at once: show, rotate-key and remove never
 * leave a project behind for an id nobody created. (Without introspection, onramp cannot tell, and the
 * id resolves as create would.)
 */
async function projectIdOf(deps: Deps, bearer: BearerSession, options: ProjectIdOptions): Promise<string> {
  if (!options.byCreateId) return options.id
  if (options.id.trim() === '') throw new UsageError('--id must not be empty: pass the id the project was created with (onramp projects create --id ID).')
  const {provisionProject, removeProject} = await import('../provisioning/resources.js')
  const api = provisioningDeps(deps)
  return bearer.call(async (accessToken) => {
    const before = await scopedTeams(deps, {issuer: bearer.issuer, clientId: bearer.clientId, accessToken})
    const project = await provisionProject(api, {issuer: bearer.issuer, accessToken, projectId: options.id})
    if (before !== null && !before.includes(Number(project.id))) {
      await removeProject(api, {issuer: bearer.issuer, accessToken, id: project.id}).catch((error: unknown) =>
        deps.logger.event('projects.resolve_cleanup_failed', {id: project.id, error: (error as Error).message}, 'warn'),
      )
      throw new UsageError(
        `No project was created with --id ${options.id} for this account on ${new URL(bearer.issuer).host} (or it was removed). Nothing was changed. ` +
          `Create it with onramp projects create --id ${options.id}, or pass the project id.`,
        {code: 'project_not_found', nextCommand: `onramp projects create --id ${options.id}`},
      )
    }
    deps.logger.event('projects.resolved', {project_id: options.id, id: project.id}, 'debug')
    return project.id
  })
}

/** GET resources/{id}: the project and its current API key. */
export async function showProjectFlow(deps: Deps, options: ProjectIdOptions & {outputEnv?: string | undefined}): Promise<ProjectShowResult> {
  const {showProject} = await import('../provisioning/resources.js')
  return projectKeyFlow(deps, options, showProject)
}

/** POST resources/{id}/rotate_credentials: a new API key; the old one stops working (PostHog keeps one key per project). */
export async function rotateProjectKeyFlow(deps: Deps, options: ProjectIdOptions & {outputEnv?: string | undefined}): Promise<ProjectRotateResult> {
  const {rotateProjectKey} = await import('../provisioning/resources.js')
  return projectKeyFlow(deps, options, rotateProjectKey)
}

/** show and rotate-key: one call on the project the options name, its key written to --output-env. */
async function projectKeyFlow(
  deps: Deps,
  options: ProjectIdOptions & {outputEnv?: string | undefined},
  request: (provisioning: ReturnType<typeof provisioningDeps>, call: {issuer: string; accessToken: string; id: string}) => Promise<ProvisionedProject>,
): Promise<ProjectShowResult> {
  const bearer = await openBearerSession(deps, options)
  const id = await projectIdOf(deps, bearer, options)
  const project = projectView(await bearer.call((accessToken) => request(provisioningDeps(deps), {issuer: bearer.issuer, accessToken, id})))
  return {project, ...(await writeEnv(options.outputEnv, project, bearer.view())), session: bearer.view()}
}

/**
 * POST resources/{id}/remove, after a confirmation: asked on a terminal, `--yes` otherwise. Nothing is
 * sent when neither confirms.
 */
export async function removeProjectFlow(deps: Deps, options: ProjectIdOptions & {yes: boolean}): Promise<ProjectRemoveResult> {
  // Refused before any session is read or refreshed: a CI step without --yes changes nothing.
  const named = options.byCreateId ? `the project of --id ${options.id}` : `project ${options.id}`
  if (!options.yes && !deps.ui.interactive) {
    throw new UsageError(`Removing ${named} needs confirmation and there is no terminal to ask on: pass --yes to remove it. Nothing was removed.`, {
      code: 'confirmation_required',
    })
  }
  const {removeProject} = await import('../provisioning/resources.js')
  const bearer = await openBearerSession(deps, options)
  const id = await projectIdOf(deps, bearer, options)
  if (!options.yes) {
    const which = options.byCreateId ? `project ${id} (--id ${options.id})` : `project ${id}`
    const confirmed = await deps.ui.confirm(`Remove ${which} on ${bearer.issuer}? Its data and API key are deleted.`, {default: false})
    // Declining is an answer, not a failure: exit 0, nothing removed.
    if (!confirmed) return {removed: false, id, session: bearer.view()}
  }
  const removed = await bearer.call((accessToken) => removeProject(provisioningDeps(deps), {issuer: bearer.issuer, accessToken, id}))
  return {removed: true, id: removed.id, session: bearer.view()}
}
