import type {SelectionReport} from '../flows/select-sessions.js'
import type {StatusResult} from '../flows/status.js'
import {serverText} from '../terminal-text.js'
import {renderSessionBlock} from './session.js'

export function renderStatus(result: StatusResult, now: Date = new Date(), advise: (session: StatusResult['sessions'][number]) => boolean = () => true): string {
  const {used_by: usedBy} = result.selection
  const blocks = result.sessions.map((session, index) => {
    const users: string[] = []
    if (usedBy.token === index) users.push('token, whoami, doctor, logout')
    if (usedBy.projects === index) users.push('projects')
    return renderSessionBlock(session, {now, usedBy: users, advise: advise(session)})
  })
  return [...blocks, renderSelection(result.selection)].join('\n\n') + '\n'
}

/** What chose the server and the account: the lines status and whoami end with. */
export function renderSelection(selection: SelectionReport): string {
  const lines = [`Server:   ${serverText(selection.issuer)} (chosen by ${serverText(selection.server_from)})`]
  if (selection.account) lines.push(`Account:  ${serverText(selection.account)} (chosen by ${serverText(selection.account_from ?? '-')})`)
  else if (selection.ambiguous.length > 0) {
    lines.push(
      `Account:  none chosen: several accounts are logged in (${selection.ambiguous.map((name) => serverText(name)).join(', ')}).`,
      '          Choose with --account EMAIL, ONRAMP_ACCOUNT, "account" in .onramp.json, or onramp switch --account EMAIL.',
    )
  } else lines.push('Account:  none (no session on this server)')
  if (selection.file) lines.push(`File:     ${serverText(selection.file)}`)
  return lines.join('\n')
}
