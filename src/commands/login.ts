import {Flags} from '@oclif/core'

import {OnrampCommand} from '../cli/base-command.js'
import {serverFlags} from '../cli/flags.js'
import type {LoginResult} from '../flows/login.js'

export default class Login extends OnrampCommand {
  static override summary = 'Log in through the browser (OAuth PKCE) or with a one-time code (--device), and store the session.'
  static override description =
    "Checks the scopes onramp needs against what the server advertises and what the app may be granted (its ceiling) first, then opens the browser on the consent page and waits for the redirect on a loopback port. The URL is always printed too; where no browser can open, paste the redirect URL instead. With --device (RFC 8628 device grant, where the server offers it), onramp shows a one-time code to approve on any device; it is offered first when no browser can open here."
  static override examples = [
    '<%= config.bin %> login',
    '<%= config.bin %> login --region eu',
    '<%= config.bin %> login --host https://posthog.example.com --client-id abc123',
    '<%= config.bin %> login --no-browser',
    '<%= config.bin %> login --device --host https://auth.example.com --client-id abc123',
  ]

  static override flags = {
    ...serverFlags,
    scopes: Flags.string({description: 'Space-separated scopes to request instead of the built-in set; all are treated as required.'}),
    browser: Flags.boolean({description: 'Open the browser (--no-browser: print the URL and paste the final redirect URL here).', default: true, allowNo: true}),
    port: Flags.integer({description: "Loopback port for the redirect (default: the app's registered ports in order, or any free port).", min: 1, max: 65535}),
    timeout: Flags.integer({description: 'Seconds to wait for the browser, or for the approval with --device (at most 86400).', default: 300, min: 1, max: 86_400}),
    device: Flags.boolean({
      description: "Log in with a one-time code approved on any device (the OAuth device grant, RFC 8628), where the server's metadata offers it.",
      default: false,
      exclusive: ['port'],
    }),
  }

  async run(): Promise<LoginResult> {
    const {flags} = await this.parse(Login)
    const [{login}, {renderLogin}, {InterruptedError}] = await Promise.all([import('../flows/login.js'), import('../render/login.js'), import('../errors.js')])
    // Ctrl-C while waiting for the person stops the login cleanly (nothing stored, the listener closed);
    // a second Ctrl-C is Node's default, immediate exit.
    const stop = new AbortController()
    const onInterrupt = () => stop.abort(new InterruptedError('Login stopped (Ctrl-C); nothing was stored.', {nextCommand: 'onramp login'}))
    process.once('SIGINT', onInterrupt)
    try {
      const deps = await this.deps(flags)
      const result = await login(deps, {
        region: flags.region,
        host: flags.host,
        clientId: flags['client-id'],
        scopes: flags.scopes,
        browser: flags.browser,
        port: flags.port,
        timeoutSeconds: flags.timeout,
        device: flags.device,
        signal: stop.signal,
      })
      if (!this.jsonEnabled()) {
        const {adviseStorage} = await import('../session/notices.js')
        process.stdout.write(renderLogin(result, {advise: adviseStorage(deps.paths, result.session.storage)}))
      }
      return result
    } finally {
      process.off('SIGINT', onInterrupt)
    }
  }
}
