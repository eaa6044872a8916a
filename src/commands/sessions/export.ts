import {OnrampCommand} from '../../cli/base-command.js'
import {selectionFlags, sessionFlags} from '../../cli/flags.js'
import type {SessionExport} from '../../flows/sessions-transfer.js'

export default class SessionsExport extends OnrampCommand {
  static override summary = 'Print one session, sealed with ONRAMP_STORE_KEY, for onramp sessions import.'
  static override description =
    'Moves a session between stores: export from the one ONRAMP_STORAGE selects now (file, keychain or redis), import where another is selected. The session is chosen like onramp token chooses it (--host, --region, --client-id, --account). Its tokens are sealed (AES-256-GCM) with ONRAMP_STORE_KEY; the issuer, client id and kind stay readable. After the import, use the session in one place only: its refresh token rotates.'
  static override examples = [
    'ONRAMP_STORAGE=file <%= config.bin %> sessions export > session.json',
    '<%= config.bin %> sessions export | ONRAMP_STORAGE=redis <%= config.bin %> sessions import -',
  ]
  static override flags = {...sessionFlags}

  async run(): Promise<SessionExport> {
    const {flags} = await this.parse(SessionsExport)
    const {exportSession} = await import('../../flows/sessions-transfer.js')
    const result = await exportSession(await this.deps(flags), selectionFlags(flags))
    return this.output(result, (document) => `${JSON.stringify(document)}\n`)
  }
}
