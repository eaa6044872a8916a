import type {Deps} from '../deps.js'
import {NotLoggedInError} from '../errors.js'
import {ensureFresh} from '../session/ensure-fresh.js'
import type {ServerSelection} from '../server.js'
import {selectOneSession} from './select-sessions.js'

export interface TokenResult {
  access_token: string
  expires_at: string | null
  scopes: string[]
}

/** `onramp token`: a valid access token for scripts and CI, refreshed first when it expires within 60 s. */
export async function token(deps: Deps, selection: ServerSelection): Promise<TokenResult> {
  const envToken = deps.env.ONRAMP_TOKEN
  if (envToken) return {access_token: envToken, expires_at: null, scopes: []} // used as-is, never refreshed
  const {store, session, issuer} = await selectOneSession(deps, selection)
  if (!session) throw new NotLoggedInError(`Not logged in to ${issuer}.`)
  const fresh = await ensureFresh(deps, {store, session})
  return {access_token: fresh.session.access_token, expires_at: fresh.session.expires_at, scopes: fresh.session.scope}
}
