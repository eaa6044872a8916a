import type {Deps} from '../deps.js'
import {NotLoggedInError} from '../errors.js'
import type {ServerSelection} from '../select-server.js'
import {envToken} from '../session/env-token.js'
import {chooseFor} from './select-sessions.js'
import {envSessionView, sessionView, type SessionView} from './session-view.js'
import {selectionReport, type SelectionReport} from './select-sessions.js'

export interface WhoamiResult {
  selection: SelectionReport
  /** The session `token` (and doctor, logout) would use; null when none. */
  token: SessionView | null
  /** The session `projects` would use (the signup session first); null when none. */
  projects: SessionView | null
}

/** `onramp whoami`: the account each command would use here, and what chose it. Reads no secret. */
export async function whoami(deps: Deps, selection: ServerSelection): Promise<WhoamiResult> {
  if (envToken(deps.env)) {
    const {choice} = await chooseFor(deps, selection, {sessions: []})
    const view = envSessionView(choice.server.issuer)
    return {selection: selectionReport(choice), token: view, projects: view}
  }
  const store = await deps.sessions()
  const sessions = await store.list()
  const forToken = (await chooseFor(deps, selection, {sessions, prefer: 'oauth'})).choice
  const forProjects = (await chooseFor(deps, selection, {sessions, prefer: 'provisioning'})).choice
  if (!forToken.session && !forProjects.session && forToken.ambiguous.length === 0) {
    const who = forToken.explicit.account && forToken.account ? ` as ${forToken.account}` : ''
    throw new NotLoggedInError(`Not logged in to ${forToken.server.issuer}${who}.`)
  }
  const now = deps.now()
  const view = (picked: (typeof sessions)[number] | undefined) => (picked ? sessionView(picked, {storage: picked.storage, now}) : null)
  return {selection: selectionReport(forToken), token: view(forToken.session), projects: view(forProjects.session)}
}
