import {SERVER_FLAG_SPECS, type FlagSpecs} from '../cli/flag-spec.js'
import type {ParsedFlags} from './parse.js'

/**
 * The interface between the fast path and the flows: per hot command, the flags it handles (beyond
 * --json and --verbose) as plain-data specs, and `run`: the body of the oclif command's run(), which
 * prints the human output itself and returns the value `--json` prints. A flag of the oclif command
 * missing here (scopes --check) sends that command line to oclif. Each `run` loads its flow lazily.
 */
export interface HotCommand {
  readonly flags: FlagSpecs
  run(flags: ParsedFlags, context: {version: string; json: boolean}): Promise<unknown>
}

/** What the server flags select, as the flows take it. */
function selection(flags: ParsedFlags): {region: 'us' | 'eu' | undefined; host: string | undefined; clientId: string | undefined} {
  return {
    region: flags.region as 'us' | 'eu' | undefined,
    host: flags.host as string | undefined,
    clientId: flags['client-id'] as string | undefined,
  }
}

export const HOT_COMMANDS: Readonly<Record<string, HotCommand>> = {
  // src/commands/token.ts
  token: {
    flags: SERVER_FLAG_SPECS,
    async run(flags, {version, json}) {
      const [{createDeps}, {token}] = await Promise.all([import('../deps.js'), import('../flows/token.js')])
      const deps = await createDeps({verbose: flags.verbose === true, version})
      const result = await token(deps, selection(flags))
      if (!json) process.stdout.write(`${result.access_token}\n`)
      return result
    },
  },
  // src/commands/status.ts
  status: {
    flags: SERVER_FLAG_SPECS,
    async run(flags, {version, json}) {
      const [{createDeps}, {status, renderStatus}] = await Promise.all([import('../deps.js'), import('../flows/status.js')])
      const deps = await createDeps({verbose: flags.verbose === true, version})
      const result = await status(deps, selection(flags))
      if (!json) process.stdout.write(renderStatus(result))
      return result
    },
  },
  // src/commands/scopes.ts without --check: the fast path does not know --check, so oclif runs the preflight.
  scopes: {
    flags: SERVER_FLAG_SPECS,
    async run(_flags, {json}) {
      const {describeScopes, renderScopesTable} = await import('../flows/describe-scopes.js')
      const description = describeScopes()
      if (!json) process.stdout.write(renderScopesTable(description))
      return description
    },
  },
}
