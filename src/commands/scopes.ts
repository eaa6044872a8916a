import {Flags} from '@oclif/core'

import {OnrampCommand} from '../cli/base-command.js'
import {ExitCode} from '../errors.js'
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
    if (flags.check) {
      const [{checkScopes}, {renderScopeCheck}] = await Promise.all([import('../flows/check-scopes.js'), import('../render/scopes.js')])
      const report = await checkScopes(await this.deps(flags), {region: flags.region, host: flags.host, clientId: flags['client-id']})
      if (!this.jsonEnabled()) process.stdout.write(renderScopeCheck(report))
      if (!report.ok) process.exitCode = ExitCode.scope
      return report
    }
    // The same body as the fast path's (bin/run.js answers `onramp scopes` without oclif when it can).
    const {runScopesDescription} = await import('../fast/hot-commands.js')
    return runScopesDescription(flags, {version: this.config.version, json: this.jsonEnabled()}) as Promise<ScopesDescription>
  }
}
