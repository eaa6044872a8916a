import type {Deps} from '../deps.js'
import type {ServerSelection} from '../select-server.js'
import {isExpiring} from '../session/session.js'
import {envToken} from '../session/env-token.js'
import {noSessionError} from '../select/choose.js'
import {chooseFor, selectOneSession} from './select-sessions.js'
import {envSessionView, sessionView, type SessionView} from './session-view.js'

export interface TokenResult {
  access_token: string
  session: SessionView
}

export interface TokenOptions extends ServerSelection {
  /** Refresh first when the access token expires within this many seconds (--min-valid, default 60). */
  minValidSeconds: number
}

/** `onramp token`: a valid access token for scripts and CI, refreshed first when it expires within `minValidSeconds`. */
export async function token(deps: Deps, options: TokenOptions): Promise<TokenResult> {
  const fromEnv = envToken(deps.env)
  if (fromEnv) {
    const {choice} = await chooseFor(deps, options, {sessions: []})
    return {access_token: fromEnv, session: envSessionView(choice.server.issuer)} // used as-is, never refreshed
  }
  // The login session of the chosen account first; its signup session when it has no other.
  const {store, session, storage, choice} = await selectOneSession(deps, options, {prefer: 'oauth'})
  if (!session || !storage) throw noSessionError(choice)
  if (!isExpiring(session, deps.now(), options.minValidSeconds)) {
    return {access_token: session.access_token, session: sessionView(session, {storage, now: deps.now()})}
  }
  // The OAuth client (openid-client) loads only when a refresh is due: scripts call `token` often.
  const {ensureFresh} = await import('./refresh.js')
  const fresh = await ensureFresh(deps, {store, session, minValidSeconds: options.minValidSeconds})
  return {access_token: fresh.session.access_token, session: sessionView(fresh.session, {storage, now: deps.now()})}
}
