import {Command, Errors, Flags} from '@oclif/core'

import type {Deps} from '../deps.js'
import {asOnrampError, OnrampError, UsageError} from '../errors.js'
import {renderError} from '../render/error.js'
import {redact} from '../redact.js'

/**
 * Every onramp command: `--json` (oclif's JSON flag) and `--verbose`, `Deps` built once here, and one
 * place that turns any error into client.md's exit codes, printed as `{error:{code,message,exit,next_command?}}`
 * under --json.
 */
export abstract class OnrampCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    verbose: Flags.boolean({description: 'Echo the debug log (redacted) to stderr.', default: false, helpGroup: 'GLOBAL'}),
  }

  /** The dependencies every flow receives; heavy parts (openid-client, undici, the keychain) load later, on use. */
  protected async deps(options: {verbose?: boolean; nonInteractive?: boolean} = {}): Promise<Deps> {
    const {createDeps} = await import('../deps.js')
    return createDeps({version: this.config.version, verbose: options.verbose ?? false, nonInteractive: options.nonInteractive ?? false})
  }

  protected override async catch(thrown: Error & {exitCode?: number}): Promise<void> {
    // oclif's own exit (this.exit) keeps its meaning.
    if (thrown instanceof Errors.ExitError) throw thrown
    const error = isOclifUsageError(thrown) ? new UsageError(thrown.message, {code: 'usage'}) : asOnrampError(thrown)
    if (this.jsonEnabled()) process.stdout.write(errorDocument(error))
    else process.stderr.write(renderError(error))
    process.exitCode = error.exit
  }
}

/** The `--json` error document: `{"error":{"code","message","exit","next_command"?}}`, redacted. */
export function errorDocument(error: OnrampError): string {
  const json = error.toJSON()
  return JSON.stringify({error: {...json, message: redact(json.message)}}, null, 2) + '\n'
}

function isOclifUsageError(error: unknown): error is Error {
  return error instanceof Errors.CLIError && (error as Errors.CLIError).oclif?.exit === 2
}
