import {OnrampCommand} from '../cli/base-command.js'
import {serverFlags} from '../cli/flags.js'
import type {TokenResult} from '../flows/token.js'

export default class Token extends OnrampCommand {
  static override summary = 'Print a valid access token (refreshed first when it expires within 60 s).'
  static override description =
    'stdout holds the token alone, for scripts and CI: TOKEN=$(onramp token). ONRAMP_TOKEN, when set, is printed as-is. Exit 3 when not logged in, 5 when the session expired.'
  static override examples = ['<%= config.bin %> token', 'curl -H "Authorization: Bearer $(<%= config.bin %> token)" ...', '<%= config.bin %> token --json']
  static override flags = {...serverFlags}

  async run(): Promise<TokenResult> {
    const {flags} = await this.parse(Token)
    const [{createDeps}, {token}] = await Promise.all([import('../deps.js'), import('../flows/token.js')])
    const deps = await createDeps({verbose: flags.verbose, version: this.config.version})
    const result = await token(deps, {region: flags.region, host: flags.host, clientId: flags['client-id']})
    if (!this.jsonEnabled()) process.stdout.write(`${result.access_token}\n`)
    return result
  }
}
