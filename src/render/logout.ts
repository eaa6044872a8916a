import type {LogoutResult} from '../flows/logout.js'
import {serverText} from '../terminal-text.js'

/**
 * PostHog revokes by (user, application): revoking this session's token also ends every other session of
 * that account with the same app (posthog/models/oauth.py revoke_oauth_session), on any machine.
 */
export function renderLogout(result: LogoutResult): string {
  if (result.logged_out.length === 0) return '' // "nothing to log out" went to stderr
  return result.logged_out
    .map((entry) => {
      const who = entry.account ? ` as ${serverText(entry.account)}` : ''
      const kind = entry.kind === 'provisioning' ? ' (signup session)' : ''
      const how = entry.revoked ? " (token revoked: this also ends that account's other sessions of this app, on every machine)" : ' (deleted locally; not revoked)'
      return `Logged out of ${entry.issuer}${who}${kind}${how}.\n`
    })
    .join('')
}
