import type {SwitchResult} from '../flows/switch.js'
import type {WhoamiResult} from '../flows/whoami.js'
import type {SessionView} from '../flows/session-view.js'
import {serverText} from '../terminal-text.js'
import {renderSelection} from './status.js'
import {who} from './session.js'

/** `onramp whoami`: the account, then which session each command uses, then what chose them. */
export function renderWhoami(result: WhoamiResult): string {
  const line = (label: string, session: SessionView | null) => {
    if (!session) return `${label}${result.selection.ambiguous.length > 0 ? 'several accounts, none chosen (see below)' : 'no session'}`
    if (session.source === 'env') return `${label}ONRAMP_TOKEN (used as-is, not verified)`
    return `${label}${who(session)} on ${serverText(session.host)}, ${session.kind === 'provisioning' ? 'signup' : 'login'} session (client ${serverText(session.client_id ?? '-')})`
  }
  const head = result.selection.account ? serverText(result.selection.account) : result.token?.source === 'env' ? 'ONRAMP_TOKEN' : 'no account chosen'
  return [head, line('  token, status, doctor, logout: ', result.token), line('  projects:                      ', result.projects), '', renderSelection(result.selection)].join('\n') + '\n'
}

export function renderSwitch(result: SwitchResult): string {
  const host = new URL(result.issuer).host
  const was = result.previous && result.previous !== result.account ? ` (was ${serverText(result.previous)})` : ''
  const lines = [`The default account for ${host} is now ${serverText(result.account)}${was}.`]
  lines.push(`  Kept in ${result.file}; --account, ONRAMP_ACCOUNT and .onramp.json still choose over it.`)
  if (result.overridden_by) lines.push(`  Here, ${serverText(result.overridden_by)} chooses another account, and wins.`)
  return lines.join('\n') + '\n'
}
