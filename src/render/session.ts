import type {ImportResult} from '../flows/sessions-transfer.js'
import type {SessionView} from '../flows/session-view.js'
import type {TokenResult} from '../flows/token.js'
import {serverText, terminalSafe} from '../terminal-text.js'

/** `onramp token`: stdout holds the token alone, so `TOKEN=$(onramp token)` works. */
export function renderToken(result: TokenResult): string {
  return `${result.access_token}\n`
}

/** `onramp sessions import`: what was stored, and where. */
export function renderImport(result: ImportResult): string {
  const {imported} = result
  const what = `the ${imported.kind === 'provisioning' ? 'signup' : 'login'} session for ${terminalSafe(imported.issuer)} (client ${terminalSafe(imported.client_id)})`
  const verb = result.unchanged ? 'Already stored' : result.replaced ? 'Replaced with' : 'Imported'
  return `${verb} ${what}.\n  Stored:   ${storageLine({storage: result.storage})}\n`
}

/** Who a session belongs to, for a person. */
export function who(session: Pick<SessionView, 'user'>): string {
  const name = session.user?.email || session.user?.name
  return name ? serverText(name) : 'an unknown user (the server did not say)'
}

/** Where a session lives, and for a plaintext file the command that moves it into the keychain. */
export function storageLine(session: Pick<SessionView, 'storage'>, {advise = true}: {advise?: boolean} = {}): string {
  const {kind, location} = session.storage
  if (kind === 'env') return 'ONRAMP_TOKEN (used as-is: not verified, never refreshed)'
  if (kind === 'file') {
    // The advice is a one-time notice (session/notices.ts): shown once per file, the fact every time.
    if (!advise) return `plaintext file ${location} (mode 0600)`
    return `plaintext file ${location} (mode 0600). To move it into the OS keychain, run \`onramp login\` where the keychain works (or set ONRAMP_STORAGE=file to keep it here).`
  }
  if (kind === 'redis') return `Redis ${location}, sealed with ONRAMP_STORE_KEY`
  return `${kind} (${location})`
}

/** "in 54 min", "in 2 h 5 min", "3 min ago": an expiry a person reads at a glance beside its ISO time. */
export function relativeTime(iso: string, now: Date): string {
  const ms = Date.parse(iso) - now.getTime()
  if (Number.isNaN(ms)) return ''
  const minutes = Math.round(Math.abs(ms) / 60_000)
  const span =
    minutes < 1 ? 'less than a minute' : minutes < 60 ? `${minutes} min` : minutes < 48 * 60 ? `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}` : `${Math.round(minutes / 1440)} days`
  return ms >= 0 ? `in ${span}` : `${span} ago`
}

/** An expiry as `2026-12-06T01:54:00.000Z (in 54 min)`. */
export function expiryText(iso: string, now: Date): string {
  const relative = relativeTime(iso, now)
  return relative ? `${iso} (${relative})` : iso
}

/** The block `status` prints per session; `usedBy` names the commands that use it. */
export function renderSessionBlock(
  session: SessionView,
  {now = new Date(), usedBy = [], advise = true}: {now?: Date; usedBy?: readonly string[]; advise?: boolean} = {},
): string {
  const title = `${session.host}${session.region ? ` (${session.region.toUpperCase()})` : ''}`
  if (session.source === 'env') {
    return [
      title,
      '  Token:    from ONRAMP_TOKEN, NOT verified: onramp knows nothing about its user, scopes or expiry',
      `  Stored:   ${storageLine(session, {advise})}`,
      '  Unset ONRAMP_TOKEN to use the stored sessions.',
    ].join('\n')
  }
  const lines = [
    `${title}${usedBy.length ? `  <- used by ${usedBy.join(', ')}` : ''}`,
    `  Logged in as ${who(session)}${session.kind === 'provisioning' ? ' (signup session)' : ''}`,
    `  Client:   ${session.client_id ? serverText(session.client_id) : '-'}`,
    `  Scopes:   ${scopeList(session.scopes) || '-'}${session.verified ? '' : ' (as requested: NOT confirmed by the server)'}`,
  ]
  if (!session.verified) lines.push(`  Not verified: ${serverText(session.unverified_reason ?? 'unknown')}; the scope check is not confirmed`)
  if (session.missing_required_scopes?.length) {
    lines.push(`  MISSING required scopes: ${session.missing_required_scopes.map((scope) => serverText(scope)).join(', ')} (run onramp login again)`)
  }
  const expiry = session.expires_at ? `${session.state}, access token expires ${expiryText(session.expires_at, now)}` : session.state
  lines.push(`  Token:    ${expiry}`, `  Stored:   ${storageLine(session, {advise})}`)
  return lines.join('\n')
}

/** Scopes as the server granted them, each one field on one line (a scope string is server text). */
export function scopeList(scopes: readonly string[] | null | undefined, separator = ' '): string {
  return (scopes ?? []).map((scope) => serverText(scope)).join(separator)
}
