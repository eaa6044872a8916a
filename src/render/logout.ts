import type {LogoutResult} from '../flows/logout.js'

export function renderLogout(result: LogoutResult): string {
  return result.logged_out.map((entry) => `Logged out of ${entry.issuer}${entry.revoked ? ' (token revoked)' : ' (deleted locally; not revoked)'}.\n`).join('')
}
