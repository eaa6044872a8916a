import {Flags} from '@oclif/core'

import {OnrampCommand} from '../cli/base-command.js'
import {serverFlags} from '../cli/flags.js'
import type {LoginResult} from '../flows/login.js'

export default class Login extends OnrampCommand {
  static override summary = 'Log in through the browser (OAuth PKCE) and store the session.'
  static override description =
    'Checks the scopes onramp needs against what the server advertises first, then opens the browser on the consent page and waits for the redirect on a loopback port. The URL is always printed too.'
  static override examples = [
    '<%= config.bin %> login',
    '<%= config.bin %> login --region eu',
    '<%= config.bin %> login --host https://posthog.example.com --client-id abc123',
    '<%= config.bin %> login --no-browser',
  ]

  static override flags = {
    ...serverFlags,
    scopes: Flags.string({description: 'Space-separated scopes to request instead of the built-in set; all are treated as required.'}),
    browser: Flags.boolean({description: 'Open the browser (--no-browser: print the URL and paste the final redirect URL here).', default: true, allowNo: true}),
    port: Flags.integer({description: 'Loopback port for the redirect (default: the app\'s registered ports in order, or any free port).', min: 1, max: 65535}),
    timeout: Flags.integer({description: 'Seconds to wait for the browser (at most 86400).', default: 300, min: 1, max: 86_400}),
  }

  async run(): Promise<LoginResult> {
    const {flags} = await this.parse(Login)
    const [{createDeps}, {login}, {renderLogin}] = await Promise.all([import('../deps.js'), import('../flows/login.js'), import('../flows/render-login.js')])
    const deps = await createDeps({verbose: flags.verbose, version: this.config.version})
    const result = await login(deps, {
      region: flags.region,
      host: flags.host,
      clientId: flags['client-id'],
      scopes: flags.scopes,
      browser: flags.browser,
      port: flags.port,
      timeoutSeconds: flags.timeout,
    })
    if (!this.jsonEnabled()) process.stdout.write(renderLogin(result))
    return result
  }
}
