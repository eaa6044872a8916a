import {Flags} from '@oclif/core'

import {OnrampCommand} from '../cli/base-command.js'
import {sessionFlags} from '../cli/flags.js'
import type {TokenResult} from '../flows/token.js'
import {REFRESH_MARGIN_SECONDS} from '../session/session.js'

export default class Token extends OnrampCommand {
  static override summary = 'Print a valid access token (refreshed first when it expires within 60 s, or --min-valid).'
  static override description =
    'stdout holds the token alone, for scripts and CI: TOKEN=$(onramp token). ONRAMP_TOKEN, when set, is printed as-is. Exit 3 when not logged in, 5 when the session expired.'
  static override examples = [
    '<%= config.bin %> token',
    'curl -H "Authorization: Bearer $(<%= config.bin %> token)" ...',
    '<%= config.bin %> token --min-valid 900',
    '<%= config.bin %> token --json',
  ]
  static override flags = {
    ...sessionFlags,
    'min-valid': Flags.integer({description: `Refresh first when the token expires within this many seconds (default ${REFRESH_MARGIN_SECONDS}; for steps that need it to last).`, min: 0, max: 86_400}),
  }

  async run(): Promise<TokenResult> {
    const {flags} = await this.parse(Token)
    // The same body as the fast path's (bin/run.cjs answers `onramp token` without oclif when it can).
    const {tokenBody} = await import('../cli/bodies/token.js')
    return tokenBody(flags, this.bodyContext(flags))
  }
}
