import type {SessionView} from '../flows/session-view.js'
import {terminalSafe} from '../terminal-text.js'

/** Who a session belongs to, for a person. */
export function who(session: Pick<SessionView, 'user'>): string {
  return terminalSafe(session.user?.email ?? session.user?.name ?? 'an unknown user (the server did not say)')
}

/** Where a session lives, and for a plaintext file the command that moves it into the keychain. */
export function storageLine(session: Pick<SessionView, 'storage'>): string {
  const {kind, location} = session.storage
  if (kind === 'env') return 'ONRAMP_TOKEN (used as-is: not verified, never refreshed)'
  if (kind === 'file') {
    return `plaintext file ${location} (mode 0600). To move it into the OS keychain, run \`onramp login\` where the keychain works (or set ONRAMP_STORAGE=file to keep it here).`
  }
  return `${kind} (${location})`
}

/** The block `status` prints per session. */
export function renderSessionBlock(session: SessionView): string {
  const title = `${session.host}${session.region ? ` (${session.region.toUpperCase()})` : ''}`
  if (session.source === 'env') {
    return [
      title,
      '  Token:    from ONRAMP_TOKEN, NOT verified: onramp knows nothing about its user, scopes or expiry',
      `  Stored:   ${storageLine(session)}`,
      '  Unset ONRAMP_TOKEN to use the stored sessions.',
    ].join('\n')
  }
  const lines = [
    title,
    `  Logged in as ${who(session)}${session.kind === 'provisioning' ? ' (signup session)' : ''}`,
    `  Client:   ${session.client_id ?? '-'}`,
    `  Scopes:   ${session.scopes?.join(' ') || '-'}`,
  ]
  if (session.missing_required_scopes?.length) {
    lines.push(`  MISSING required scopes: ${session.missing_required_scopes.join(', ')} (run onramp login again)`)
  }
  const expiry = session.expires_at ? `${session.state}, access token expires ${session.expires_at}` : session.state
  lines.push(`  Token:    ${expiry}`, `  Stored:   ${storageLine(session)}`)
  return lines.join('\n')
}
