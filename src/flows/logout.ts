import type {Deps} from '../deps.js'
import {NotLoggedInError, UsageError} from '../errors.js'
import {createOAuthClient} from '../oauth/client.js'
import {discover} from '../oauth/discovery.js'
import {ambiguousAccountError} from '../select/choose.js'
import {readDefaults, updateDefaults} from '../select/defaults.js'
import type {ServerSelection} from '../select-server.js'
import {accountOf, type Session} from '../session/session.js'
import type {SessionInfo} from '../session/store.js'
import {chooseFor} from './select-sessions.js'

export interface LogoutResult {
  logged_out: {issuer: string; client_id: string; account: string | null; kind: Session['kind']; revoked: boolean}[]
  /** Set when there was nothing to log out (exit 0: a cleanup step may run twice). */
  nothing_to_log_out?: string
}

/**
 * `onramp logout`: revoke the grant (RFC 7009), then delete the session. Local deletion always
 * completes, even when revocation fails. It logs out the account the selection chooses (every
 * session of it on that server: login and signup), like `token` would use it; several accounts
 * without a choice, or several servers without one, need a choice, or --all. Nothing to log out is
 * not an error: it says so and exits 0.
 */
export async function logout(deps: Deps, {selection, all}: {selection: ServerSelection; all: boolean}): Promise<LogoutResult> {
  const store = await deps.sessions()
  const stored = await store.list()
  const {choice} = await chooseFor(deps, all ? {} : selection, {sessions: stored})
  let targets: SessionInfo[]
  if (all) targets = stored
  else {
    if (choice.sources.server.level === 'default' && new Set(stored.map((session) => session.issuer)).size > 1) {
      const issuers = [...new Set(stored.map((session) => session.issuer))]
      throw new UsageError(`Logged in to several hosts (${issuers.join(', ')}): pass --host or --region to pick one, or --all.`)
    }
    if (choice.ambiguous.length > 0) throw ambiguousAccountError(choice)
    targets = stored.filter(
      (session) =>
        session.issuer === choice.server.issuer &&
        (!choice.explicit.clientId || session.client_id === choice.server.clientId) &&
        (choice.account === null || accountOf(session)?.toLowerCase() === choice.account),
    )
  }
  if (targets.length === 0) {
    const who = !all && choice.account ? ` as ${choice.account}` : ''
    const where = all ? 'any host' : choice.server.issuer
    const message = `Not logged in to ${where}${who}; nothing to log out.`
    deps.ui.info(message)
    return {logged_out: [], nothing_to_log_out: message}
  }

  const result: LogoutResult = {logged_out: []}
  for (const info of targets) {
    // list() holds no tokens; revocation needs them. Tokens removed outside onramp leave nothing to revoke,
    // and the dangling metadata must still go.
    const session = await store.get(info).catch((error: unknown) => {
      if (error instanceof NotLoggedInError) return undefined
      // A keychain entry onramp cannot read (damaged, or claiming absurdly many parts): nothing to revoke, still removed.
      if ((error as {code?: unknown}).code === 'keychain_entry_corrupt') return undefined
      throw error
    })
    const revoked = session ? await revokeSession(deps, session) : false
    await store.delete(info)
    const account = accountOf(info)
    deps.logger.event('logout', {issuer: info.issuer, client_id: info.client_id, account, kind: info.kind ?? 'oauth', revoked}, 'info')
    result.logged_out.push({issuer: info.issuer, client_id: info.client_id, account, kind: info.kind ?? 'oauth', revoked})
  }
  await forgetDefaults(deps, await store.list())
  return result
}

/** A default account (or server) of `onramp switch` with no session left is dropped, so it cannot choose a ghost. */
async function forgetDefaults(deps: Deps, remaining: SessionInfo[]): Promise<void> {
  const defaults = readDefaults(deps.paths.config)
  const alive = (issuer: string, account?: string) =>
    remaining.some((session) => session.issuer === issuer && (account === undefined || accountOf(session)?.toLowerCase() === account.toLowerCase()))
  const stale = Object.entries(defaults.accounts).filter(([issuer, account]) => !alive(issuer, account))
  const staleServer = defaults.server !== null && !alive(defaults.server)
  if (stale.length === 0 && !staleServer) return
  await updateDefaults(deps.paths.config, (current) => {
    for (const [issuer, account] of Object.entries(current.accounts)) if (!alive(issuer, account)) delete current.accounts[issuer]
    if (current.server !== null && !alive(current.server)) current.server = null
  })
}

async function revokeSession(deps: Deps, session: Session): Promise<boolean> {
  try {
    const discovered = await discover(deps, session.issuer)
    const revoked = await createOAuthClient({discovered, clientId: session.client_id, http: deps.http}).revoke(session)
    if (!revoked) deps.ui.warn(`${session.issuer} has no revocation endpoint; the session is deleted locally only.`)
    return revoked
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    deps.ui.warn(`Could not revoke the token at ${session.issuer} (${message}); the session is deleted locally anyway.`)
    return false
  }
}
