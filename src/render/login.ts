import {serverText} from '../terminal-text.js'
import type {LoginResult} from '../flows/login.js'
import {scopeList, storageLine, who} from './session.js'

/** The short human summary of a login: who, where, which scopes, where the session is stored. */
export function renderLogin(result: LoginResult, {advise = true}: {advise?: boolean} = {}): string {
  const {session} = result
  const lines = [
    `Logged in to ${serverText(session.issuer)} as ${who(session)}.`,
    `  Scopes:  ${session.scopes ? scopeList(session.scopes) : '-'}`,
    ...(result.missing_optional_scopes.length > 0 ? [`  Not granted (optional): ${scopeList(result.missing_optional_scopes)}`] : []),
    `  Expires: ${session.expires_at ?? 'not stated by the server'} (onramp token refreshes it)`,
    `  Stored:  ${storageLine(session, {advise})}`,
    'Next: `onramp token` prints a fresh access token; `onramp status` shows the session.',
  ]
  return lines.join('\n') + '\n'
}
