import {OnrampCommand} from '../cli/base-command.js'
import {selectionFlags, sessionFlags} from '../cli/flags.js'
import type {SwitchResult} from '../flows/switch.js'

export default class Switch extends OnrampCommand {
  static override summary = 'Make an account the default for its server.'
  static override description =
    'Commands use it when nothing else chooses an account: --account, ONRAMP_ACCOUNT and a .onramp.json in the folder (or above) win over it, so a terminal or project that chose is never switched. Kept in the config folder (defaults.json). Without --account, with two accounts on the server, switches to the other one.'
  static override examples = ['<%= config.bin %> switch --account ci@example.com', '<%= config.bin %> switch --host https://posthog.example.com --account me@example.com', '<%= config.bin %> switch']
  static override flags = {...sessionFlags}

  async run(): Promise<SwitchResult> {
    const {flags} = await this.parse(Switch)
    const [{switchAccount}, {renderSwitch}] = await Promise.all([import('../flows/switch.js'), import('../render/whoami.js')])
    const result = await switchAccount(await this.deps(flags), selectionFlags(flags))
    return this.output(result, renderSwitch)
  }
}
