import type {Deps} from '../deps.js'
import {NotLoggedInError} from '../errors.js'
import {resolveServer, type ServerSelection} from '../select-server.js'
import {envToken} from '../session/env-token.js'
import {selectSessions} from './select-sessions.js'
import {envSessionView, sessionView, type SessionView} from './session-view.js'

export interface StatusResult {
  sessions: SessionView[]
}

/** `onramp status`: every stored session (or those of the selected host); exit 3 when there is none. */
export async function status(deps: Deps, selection: ServerSelection): Promise<StatusResult> {
  // ONRAMP_TOKEN is used as-is by `token`, so it is what status must show: where it points, unverified.
  if (envToken(deps.env)) return {sessions: [envSessionView(resolveServer(selection).issuer)]}
  const {sessions, issuer} = await selectSessions(deps, selection)
  if (sessions.length === 0) {
    throw new NotLoggedInError(issuer ? `Not logged in to ${issuer}.` : 'Not logged in to any host.')
  }
  const now = deps.now()
  // Metadata only, each with where ITS tokens live: status never unlocks the keychain.
  return {sessions: sessions.map((session) => sessionView(session, {storage: session.storage, now}))}
}
