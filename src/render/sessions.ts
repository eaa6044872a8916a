import type {ImportResult} from '../flows/sessions-transfer.js'
import {storageLine} from './session.js'
import {terminalSafe} from '../terminal-text.js'

export function renderImport(result: ImportResult): string {
  const {imported} = result
  const what = `the ${imported.kind === 'provisioning' ? 'signup' : 'login'} session for ${terminalSafe(imported.issuer)} (client ${terminalSafe(imported.client_id)})`
  const verb = result.unchanged ? 'Already stored' : result.replaced ? 'Replaced with' : 'Imported'
  return `${verb} ${what}.\n  Stored:   ${storageLine({storage: result.storage})}\n`
}
