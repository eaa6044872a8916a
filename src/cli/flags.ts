import {Args, Flags} from '@oclif/core'

import {UsageError} from '../errors.js'
import {ACCOUNT_FLAG_SPECS, SERVER_FLAG_SPECS} from './flag-spec.js'

const {region, host, 'client-id': clientId} = SERVER_FLAG_SPECS
const {account} = ACCOUNT_FLAG_SPECS

/**
 * Flags that select the server, shared by every command that talks to one (client.md "Selecting the server").
 * Built from the plain-data specs in flag-spec.ts, which the fast path (src/fast/) parses too.
 */
export const serverFlags = {
  region: Flags.option({options: region.options, description: region.description, helpGroup: region.helpGroup})(),
  host: Flags.string({description: host.description, helpGroup: host.helpGroup}),
  'client-id': Flags.string({description: clientId.description, helpGroup: clientId.helpGroup}),
}

/** The server flags and --account (ONRAMP_ACCOUNT): every command that uses a stored session. */
export const sessionFlags = {
  ...serverFlags,
  account: Flags.string({description: account.description, helpGroup: account.helpGroup}),
}

/** `projects show|rotate-key|remove`: the project by its id (the argument) or by the --id it was created with. */
export const projectIdArgs = {
  id: Args.string({description: 'The project id (from onramp projects create, POSTHOG_PROJECT_ID); or pass --id.', required: false}),
}
/**
 * --output-env for every command that gives a project's key (signup, projects create, show, rotate-key):
 * the variables appended are output-env.ts's projectEnv, the personal API key among them when the server
 * issued one.
 */
export const outputEnvFlag = {
  'output-env': Flags.string({
    description: 'Append POSTHOG_PROJECT_API_KEY, POSTHOG_PROJECT_ID, POSTHOG_HOST (and POSTHOG_PERSONAL_API_KEY when the server issues one) to this file (e.g. "$GITHUB_ENV").',
  }),
}
export const createIdFlag = {
  id: Flags.string({description: 'The id the project was created with (onramp projects create --id ID), instead of the project id.'}),
}

/** `projects show|rotate-key`: the session, the project by its id or --id, and --output-env for its key. */
export const projectKeyFlags = {...sessionFlags, ...createIdFlag, ...outputEnvFlag}

/** The project a `projects` command names: exactly one of the argument and --id (exit 2 otherwise). */
export function projectTarget(args: {id?: string | undefined}, flags: {id?: string | undefined}): {id: string; byCreateId: boolean} {
  if (args.id !== undefined && flags.id !== undefined) throw new UsageError('Pass the project id or --id (the id it was created with), not both.')
  if (flags.id !== undefined) return {id: flags.id, byCreateId: true}
  if (args.id !== undefined) return {id: args.id, byCreateId: false}
  throw new UsageError('Name the project: its id (onramp projects show 12345, POSTHOG_PROJECT_ID) or the id it was created with (--id ci-1).', {
    code: 'project_required',
  })
}

/** What the server flags and --account select, as the flows take it (the environment is read by the selection). */
export function selectionFlags(flags: {region?: string | undefined; host?: string | undefined; 'client-id'?: string | undefined; account?: string | undefined}) {
  return {region: flags.region, host: flags.host, clientId: flags['client-id'], account: flags.account}
}

/**
 * The usage error for an option flag whose value came from its environment variable and is not one of
 * its options: oclif's own message says `--region=xx` although nobody typed --region. A value typed
 * on the command line wins over the variable, so only flags absent from argv are checked.
 */
export function envOptionError({flags, argv}: {flags: Record<string, {env?: string; options?: readonly string[]; char?: string}>; argv: readonly string[]}): UsageError | undefined {
  const end = argv.indexOf('--')
  const typed = end === -1 ? argv : argv.slice(0, end)
  for (const [name, flag] of Object.entries(flags)) {
    const value = flag.env ? process.env[flag.env] : undefined
    if (!flag.env || !flag.options || !value || flag.options.includes(value)) continue
    const onArgv = typed.some((word) => word === `--${name}` || word.startsWith(`--${name}=`) || (flag.char !== undefined && word.startsWith(`-${flag.char}`)))
    if (onArgv) continue
    return new UsageError(`${flag.env}=${value} is not one of ${flag.options.join(', ')} (it sets --${name}): set it to one of them, or unset ${flag.env}.`)
  }
  return undefined
}

/**
 * A word of argv (before `--`) naming, as a flag, a property every object inherits (`--toString`,
 * `--no-valueOf`, `--constructor=x`, `--__proto__`) that is none of `names`: the usage error oclif gives
 * for an unknown flag. oclif's own lookup would take it for a flag (see OnrampCommand.parse).
 */
export function inheritedFlagError(argv: readonly string[], names: readonly string[]): UsageError | undefined {
  const known = new Set(names)
  for (const word of argv) {
    if (word === '--') return undefined
    if (!word.startsWith('--')) continue
    const whole = word.slice(2)
    const equals = whole.indexOf('=')
    const candidates = [whole, equals === -1 ? whole : whole.slice(0, equals)].flatMap((name) => (name.startsWith('no-') ? [name, name.slice(3)] : [name]))
    if (candidates.some((name) => !known.has(name) && name in Object.prototype)) {
      return new UsageError(`Nonexistent flag: ${word}\nSee more help with --help`)
    }
  }
  return undefined
}
