import {Flags} from '@oclif/core'

import {OnrampCommand} from '../cli/base-command.js'
import {selectionFlags, sessionFlags} from '../cli/flags.js'
import type {LogoutResult} from '../flows/logout.js'

export default class Logout extends OnrampCommand {
  static override summary = 'Revoke the refresh token and delete the session.'
  static override description = 'The local session is always deleted, even when the server cannot be reached to revoke it.'
  static override examples = ['<%= config.bin %> logout', '<%= config.bin %> logout --region eu', '<%= config.bin %> logout --all']
  static override flags = {
    ...sessionFlags,
    all: Flags.boolean({description: 'Log out of every host.', default: false}),
  }

  async run(): Promise<LogoutResult> {
    const {flags} = await this.parse(Logout)
    const [{logout}, {renderLogout}] = await Promise.all([import('../flows/logout.js'), import('../render/logout.js')])
    const result = await logout(await this.deps(flags), {selection: selectionFlags(flags), all: flags.all})
    return this.output(result, renderLogout)
  }
}
