import {OnrampCommand} from '../cli/base-command.js'
import {sessionFlags} from '../cli/flags.js'
import type {StatusResult} from '../flows/status.js'

export default class Status extends OnrampCommand {
  static override summary = 'Show the stored sessions: host, user, scopes, missing required scopes, expiry, storage.'
  static override description =
    'Without --host/--region every stored session is shown. It reads no secret, so it never unlocks the keychain. Exit 3 when there is none (for the selected host).'
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --region eu --json']
  static override flags = {...sessionFlags}

  async run(): Promise<StatusResult> {
    const {flags} = await this.parse(Status)
    // The same body as the fast path's (bin/run.cjs answers `onramp status` without oclif when it can).
    const {statusBody} = await import('../cli/bodies/status.js')
    return statusBody(flags, this.bodyContext(flags))
  }
}
