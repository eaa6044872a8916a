import {Flags} from '@oclif/core'

import {OnrampCommand} from '../cli/base-command.js'
import {serverFlags} from '../cli/flags.js'
import type {ScopeCheckReport} from '../flows/check-scopes.js'
import type {ScopesDescription} from '../flows/describe-scopes.js'

export default class Scopes extends OnrampCommand {
  static override summary = 'Show the scopes onramp asks for, and why; --check compares them with the server.'
  static override description =
    "One scope constant drives login and signup. --check fetches the server metadata and the app's ceiling and reports every scope that would be refused, before anything is requested. Exit 4 when a required scope would fail (with --json, the report is still printed, with \"ok\": false)."
  static override examples = ['<%= config.bin %> scopes', '<%= config.bin %> scopes --json', '<%= config.bin %> scopes --check --region eu']

  static override flags = {
    check: Flags.boolean({description: "Run the preflight for login and signup against the server and the app's ceiling, without logging in.", default: false}),
    ...serverFlags,
  }

  async run(): Promise<ScopesDescription | ScopeCheckReport> {
    const {flags} = await this.parse(Scopes)
    // The same body as the fast path's (bin/run.cjs answers `onramp scopes` without oclif when it can; --check stays here).
    const {scopesBody} = await import('../cli/bodies/scopes.js')
    return scopesBody(flags, this.bodyContext(flags))
  }
}
