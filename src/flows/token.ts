import type {Deps} from '../deps.js'
import {NotLoggedInError} from '../errors.js'
import {isExpiring, REFRESH_MARGIN_SECONDS} from '../session/session.js'
import type {ServerSelection} from '../server.js'
import {selectOneSession} from './select-sessions.js'
import {envToken} from '../session/store.js'

export interface TokenResult {
  access_token: string
  expires_at: string | null
  scopes: string[]
}

/** `onramp token`: a valid access token for scripts and CI, refreshed first when it expires within 60 s. */
export async function token(deps: Deps, selection: ServerSelection, {minValidSeconds = REFRESH_MARGIN_SECONDS}: {minValidSeconds?: number} = {}): Promise<TokenResult> {
  const fromEnv = envToken(deps.env)
  if (fromEnv) return {access_token: fromEnv, expires_at: null, scopes: []} // used as-is, never refreshed
  const {store, session, issuer} = await selectOneSession(deps, selection)
  if (!session) throw new NotLoggedInError(`Not logged in to ${issuer}.`)
  if (!isExpiring(session, deps.now(), minValidSeconds)) {
    return {access_token: session.access_token, expires_at: session.expires_at, scopes: session.scope}
  }
  // The OAuth client (openid-client) loads only when a refresh is due: scripts call `token` often.
  const {ensureFresh} = await import('../session/ensure-fresh.js')
  const fresh = await ensureFresh(deps, {store, session, minValidSeconds})
  return {access_token: fresh.session.access_token, expires_at: fresh.session.expires_at, scopes: fresh.session.scope}
}
