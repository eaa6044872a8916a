import {OnrampCommand} from '../cli/base-command.js'
import {serverFlags} from '../cli/flags.js'
import type {StatusResult} from '../flows/status.js'

export default class Status extends OnrampCommand {
  static override summary = 'Show the stored sessions: host, user, scopes, missing required scopes, expiry, storage.'
  static override description =
    'Without --host/--region every stored session is shown. It reads no secret, so it never unlocks the keychain. Exit 3 when there is none (for the selected host).'
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --region eu --json']
  static override flags = {...serverFlags}

  async run(): Promise<StatusResult> {
    const {flags} = await this.parse(Status)
    const [{status}, {renderStatus}] = await Promise.all([import('../flows/status.js'), import('../render/status.js')])
    const result = await status(await this.deps(flags), {region: flags.region, host: flags.host, clientId: flags['client-id']})
    if (!this.jsonEnabled()) process.stdout.write(renderStatus(result))
    return result
  }
}
