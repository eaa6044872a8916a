import {Command, Errors, Flags} from '@oclif/core'

import {asOnrampError, ExitCode, OnrampError, UsageError} from '../errors.js'
import {redact} from '../redact.js'

/**
 * Every onramp command: `--json` (oclif's JSON flag) and `--verbose`, and one place that turns any
 * error into client.md's exit codes, printed as `{error:{code,message,exit,next_command?}}` under --json.
 */
export abstract class OnrampCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    verbose: Flags.boolean({description: 'Echo the debug log (redacted) to stderr.', default: false, helpGroup: 'GLOBAL'}),
  }

  protected override async catch(thrown: Error & {exitCode?: number}): Promise<void> {
    // oclif's own exit (this.exit) and parse errors keep their meaning.
    if (thrown instanceof Errors.ExitError) throw thrown
    const error = isOclifUsageError(thrown) ? new UsageError(thrown.message) : asOnrampError(thrown)
    if (this.jsonEnabled()) {
      const json = error.toJSON()
      process.stdout.write(JSON.stringify({error: {...json, message: redact(json.message)}}, null, 2) + '\n')
    } else {
      process.stderr.write(renderError(error))
    }
    process.exitCode = error.exit
  }
}

function isOclifUsageError(error: unknown): error is Error {
  return error instanceof Errors.CLIError && (error as Errors.CLIError).oclif?.exit === ExitCode.usage
}

export function renderError(error: OnrampError): string {
  const lines = [`Error: ${redact(error.message)}`]
  if (error.nextCommand) lines.push(`Next: run \`${error.nextCommand}\``)
  return lines.join('\n') + '\n'
}
