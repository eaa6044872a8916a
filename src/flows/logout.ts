import type {Deps} from '../deps.js'
import {NotLoggedInError, UsageError} from '../errors.js'
import {createOAuthClient} from '../oauth/client.js'
import {discover} from '../oauth/discovery.js'
import {resolveServer, type ServerSelection} from '../select-server.js'
import type {Session} from '../session/session.js'
import {selectSessions} from './select-sessions.js'

export interface LogoutResult {
  logged_out: {issuer: string; client_id: string; revoked: boolean}[]
}

/**
 * `onramp logout`: revoke the grant (RFC 7009), then delete the session. Local deletion always
 * completes, even when revocation fails. With no --host/--region the one host logged in to is chosen;
 * several need a choice, or --all.
 */
export async function logout(deps: Deps, {selection, all}: {selection: ServerSelection; all: boolean}): Promise<LogoutResult> {
  const {store, sessions} = await selectSessions(deps, all ? {} : selection)
  const issuers = [...new Set(sessions.map((session) => session.issuer))]
  if (sessions.length === 0) {
    const where = selection.host || selection.region ? resolveServer(selection).issuer : 'any host'
    throw new NotLoggedInError(`Not logged in to ${where}; nothing to log out.`, {nextCommand: 'onramp status'})
  }
  if (!all && issuers.length > 1) {
    throw new UsageError(`Logged in to several hosts (${issuers.join(', ')}): pass --host or --region to pick one, or --all.`)
  }

  const result: LogoutResult = {logged_out: []}
  for (const info of sessions) {
    // list() holds no tokens; revocation needs them. Tokens removed outside onramp leave nothing to revoke,
    // and the dangling metadata must still go.
    const session = await store.get(info).catch((error: unknown) => {
      if (error instanceof NotLoggedInError) return undefined
      throw error
    })
    const revoked = session ? await revokeSession(deps, session) : false
    await store.delete(info)
    deps.logger.event('logout', {issuer: info.issuer, client_id: info.client_id, revoked}, 'info')
    result.logged_out.push({issuer: info.issuer, client_id: info.client_id, revoked})
  }
  return result
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
