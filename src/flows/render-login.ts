import type {LoginResult} from './login.js'

/** The short human summary of a login: who, where, which scopes, where the session is stored. */
export function renderLogin(result: LoginResult): string {
  const who = result.user?.email ?? result.user?.name ?? 'an unknown user (the server did not say)'
  const lines = [
    `Logged in to ${result.issuer} as ${who}.`,
    `  Scopes:  ${result.scopes.join(' ')}`,
    ...(result.missing_optional_scopes.length > 0 ? [`  Not granted (optional): ${result.missing_optional_scopes.join(' ')}`] : []),
    `  Expires: ${result.expires_at ?? 'not stated by the server'} (onramp token refreshes it)`,
    `  Stored:  ${result.storage.kind} (${result.storage.location})`,
    'Next: `onramp token` prints a fresh access token; `onramp status` shows the session.',
  ]
  return lines.join('\n') + '\n'
}
