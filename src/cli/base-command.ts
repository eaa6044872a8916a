import {Command, Errors} from '@oclif/core'

import {asOnrampError, ExitCode, UsageError} from '../errors.js'
import {baseFlags} from './flags.js'
import {reportError} from './report-error.js'

/**
 * Every onramp command: `--json` (oclif's JSON flag) and `--verbose`, and one place that turns any
 * error into client.md's exit codes, printed as `{error:{code,message,exit,next_command?}}` under --json.
 */
export abstract class OnrampCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = baseFlags

  protected override async catch(thrown: Error & {exitCode?: number}): Promise<void> {
    // oclif's own exit (this.exit) and parse errors keep their meaning.
    if (thrown instanceof Errors.ExitError) throw thrown
    const error = isOclifUsageError(thrown) ? new UsageError(thrown.message) : asOnrampError(thrown)
    reportError(error, {json: this.jsonEnabled()})
  }
}

function isOclifUsageError(error: unknown): error is Error {
  return error instanceof Errors.CLIError && (error as Errors.CLIError).oclif?.exit === ExitCode.usage
}

export {renderError} from './report-error.js'
