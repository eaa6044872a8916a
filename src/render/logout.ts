import type {LogoutResult} from '../flows/logout.js'
import {serverText} from '../terminal-text.js'

export function renderLogout(result: LogoutResult): string {
  if (result.logged_out.length === 0) return '' // "nothing to log out" went to stderr
  return result.logged_out
    .map((entry) => {
      const who = entry.account ? ` as ${serverText(entry.account)}` : ''
      const kind = entry.kind === 'provisioning' ? ' (signup session)' : ''
      return `Logged out of ${entry.issuer}${who}${kind}${entry.revoked ? ' (token revoked)' : ' (deleted locally; not revoked)'}.\n`
    })
    .join('')
}
