import {Command, Errors, Flags, type Interfaces} from '@oclif/core'

import type {Deps} from '../deps.js'
import {asOnrampError, UsageError} from '../errors.js'
import {writeErrorDocument} from '../render/error.js'
import type {BodyContext} from './bodies/context.js'
import {commandDeps} from './command-deps.js'
import {BASE_FLAG_SPECS} from './flag-spec.js'
import {envOptionError, inheritedFlagError} from './flags.js'

const {verbose} = BASE_FLAG_SPECS

/**
 * Every onramp command: `--json` (oclif's JSON flag) and `--verbose`, `Deps` built once here, and one
 * place that turns any error into an exit code (0 ok, 1 unexpected, 2 usage, 3 not logged in, 4 scope,
 * 5 session expired, 6 network, 7 secure storage), printed as `{error:{code,message,exit,next_command?}}`
 * under --json.
 */
export abstract class OnrampCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    verbose: Flags.boolean({description: verbose.description, default: false, helpGroup: verbose.helpGroup}),
  }

  /** The dependencies every flow receives; heavy parts (openid-client, undici, the keychain) load later, on use. */
  protected async deps(options: {verbose?: boolean; nonInteractive?: boolean} = {}): Promise<Deps> {
    return commandDeps({version: this.config.version, verbose: options.verbose ?? false, nonInteractive: options.nonInteractive ?? false})
  }

  /** A command's result: its human text on stdout (`render`), or under --json nothing here (oclif prints the returned document). */
  protected output<T>(result: T, render: (result: T) => string): T {
    if (!this.jsonEnabled()) process.stdout.write(render(result))
    return result
  }

  /** What a body in src/cli/bodies/ needs (the fast path gives the same from the same builder). */
  protected bodyContext(flags: {verbose?: boolean}): BodyContext {
    return {json: this.jsonEnabled(), deps: () => this.deps({verbose: flags.verbose ?? false}), out: (text) => void process.stdout.write(text)}
  }

  /**
   * oclif's parser finds a flag by `flags[name]`, so `--toString`, `--valueOf` (names every object
   * inherits) pass as flags, or fail as "Unexpected flag Object": refused here as the unknown flags they are.
   */
  protected override async parse<F extends Record<string, unknown>, B extends Record<string, unknown>, A extends Record<string, unknown>>(
    options?: Interfaces.Input<F, B, A>,
    argv: string[] = this.argv,
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const input = options ?? (this.ctor as unknown as Interfaces.Input<F, B, A>)
    const names = [...Object.keys(input.flags ?? {}), ...Object.keys(input.baseFlags ?? {}), ...(input.enableJsonFlag ? ['json'] : [])]
    const refused = inheritedFlagError(argv, names)
    if (refused) throw refused
    return super.parse(options, argv)
  }

  protected override async catch(thrown: Error & {exitCode?: number}): Promise<void> {
    // oclif's own exit (this.exit) keeps its meaning.
    if (thrown instanceof Errors.ExitError) throw thrown
    // oclif names the flag even when the bad value came from its environment variable (ONRAMP_REGION=xx).
    const error = isOclifUsageError(thrown)
      ? (envOptionError({flags: this.ctor.flags ?? {}, argv: this.argv}) ?? parseError(thrown.message, `${this.config.bin} ${this.id?.replaceAll(':', ' ') ?? ''}`.trim()))
      : asOnrampError(thrown)
    writeUnwrittenEnv(error)
    writeErrorDocument(error, {json: this.jsonEnabled()})
    process.exitCode = error.exit
  }
}

/**
 * oclif's parse errors in onramp's shape: one sentence (its "The following error occurred:" preamble,
 * tabs and "See more help" dropped), and the command's help as the next step (a `Next:` line, and
 * `next_command` under --json).
 */
export function parseError(message: string, command: string): UsageError {
  const text = message
    .replace(/^The following errors? occurred:\s*/i, '')
    .replace(/\n?See more help with --help\s*$/i, '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(': ')
    .replace(/:\s*:/g, ':')
  return new UsageError(`${text}. See ${command} --help.`.replace(/\.\. See/, '. See'), {nextCommand: `${command} --help`})
}

function isOclifUsageError(error: unknown): error is Error {
  return error instanceof Errors.CLIError && (error as Errors.CLIError).oclif?.exit === 2
}

/**
 * --output-env values that could not be written after the project exists: shown on stderr so they are not
 * lost, and nowhere else (no log, no --json document). A personal API key is not repeated: rotate-key mints
 * a new one.
 */
function writeUnwrittenEnv(thrown: object): void {
  const unwritten = (thrown as {unwritten?: Record<string, string>}).unwritten
  if (!unwritten) return
  const lines = Object.entries(unwritten)
    .filter(([name]) => name !== 'POSTHOG_PERSONAL_API_KEY')
    .map(([name, value]) => `  ${name}=${value}`)
  const personal = 'POSTHOG_PERSONAL_API_KEY' in unwritten ? '\n(The personal API key is not shown: onramp projects rotate-key ID --output-env FILE issues a new one.)' : ''
  process.stderr.write(`Not written to --output-env, shown here once instead:\n${lines.join('\n')}${personal}\n`)
}
