import type {Deps} from '../deps.js'
import {NotLoggedInError} from '../errors.js'
import type {Choice} from '../select/choose.js'
import {sessionKey} from '../session/session.js'
import {envToken} from '../session/env-token.js'
import type {SessionInfo} from '../session/store.js'
import {chooseFor, selectionReport, selectSessions, type SelectionFlags, type SelectionReport} from './select-sessions.js'
import {envSessionView, sessionView, type SessionView} from './session-view.js'

export interface StatusResult {
  sessions: SessionView[]
  selection: SelectionReport & {
    /** Index in `sessions` of the session each kind of command uses: `token` (token, doctor, logout) and `projects`; null for none. */
    used_by: {token: number | null; projects: number | null}
  }
}

/**
 * `onramp status`: every stored session (or those of the server, app and account a flag, variable or
 * `.onramp.json` names), marking the one each command would use and saying what chose it; exit 3 when
 * there is none.
 */
export async function status(deps: Deps, flags: SelectionFlags): Promise<StatusResult> {
  // ONRAMP_TOKEN is used as-is by `token`, so it is what status must show: where it points, unverified.
  if (envToken(deps.env)) {
    const {choice} = await chooseFor(deps, flags, {sessions: []})
    return {sessions: [envSessionView(choice.server.issuer)], selection: {...selectionReport(choice), used_by: {token: 0, projects: 0}}}
  }
  const {sessions, choice, all} = await selectSessions(deps, flags)
  if (sessions.length === 0) {
    throw new NotLoggedInError(choice.explicit.server || choice.explicit.account ? notLoggedInTo(choice) : 'Not logged in to any host.')
  }
  const now = deps.now()
  // The same decision token and projects make, from the same inputs (chooseFor, as they call it).
  const as = async (prefer: 'oauth' | 'provisioning') => (await chooseFor(deps, flags, {sessions: all, prefer})).choice
  const indexOf = (picked: SessionInfo | undefined) => (picked ? sessions.findIndex((session) => sessionKey(session) === sessionKey(picked)) : -1)
  const token = indexOf((await as('oauth')).session)
  const projects = indexOf((await as('provisioning')).session)
  // Metadata only, each with where ITS tokens live: status never unlocks the keychain.
  return {
    sessions: sessions.map((session) => sessionView(session, {storage: session.storage, now})),
    selection: {...selectionReport(choice), used_by: {token: token === -1 ? null : token, projects: projects === -1 ? null : projects}},
  }
}

function notLoggedInTo(choice: Choice<SessionInfo>): string {
  const who = choice.explicit.account && choice.account ? ` as ${choice.account}` : ''
  return `Not logged in to ${choice.server.issuer}${who}.`
}
