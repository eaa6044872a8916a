import {OnrampCommand} from '../cli/base-command.js'
import {selectionFlags, sessionFlags} from '../cli/flags.js'
import type {WhoamiResult} from '../flows/whoami.js'

export default class Whoami extends OnrampCommand {
  static override summary = 'Show the account each command would use here, and what chose it.'
  static override description =
    'The account, server and session that token, status, doctor and logout use, and the one projects uses (the signup session first), chosen by flags > environment > .onramp.json > onramp switch > the only session. Reads no secret. Exit 3 when not logged in.'
  static override examples = ['<%= config.bin %> whoami', '<%= config.bin %> whoami --json', 'cd ci && <%= config.bin %> whoami']
  static override flags = {...sessionFlags}

  async run(): Promise<WhoamiResult> {
    const {flags} = await this.parse(Whoami)
    const [{whoami}, {renderWhoami}] = await Promise.all([import('../flows/whoami.js'), import('../render/whoami.js')])
    const result = await whoami(await this.deps(flags), selectionFlags(flags))
    return this.output(result, renderWhoami)
  }
}
