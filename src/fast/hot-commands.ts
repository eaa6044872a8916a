import {SERVER_FLAG_SPECS, type FlagSpecs} from '../cli/flag-spec.js'
import type {ParsedFlags} from './parse.js'

/**
 * The hot commands' bodies, shared by the oclif commands (src/commands/token.ts, status.ts, scopes.ts)
 * and the fast path: build Deps, call the flow, print the human output unless --json, return what --json
 * prints. `flags` are what the fast path parses (beyond --json and --verbose); an oclif flag missing here
 * (`token --min-valid`, `scopes --check`) sends that command line to oclif. Flows load lazily.
 */
export interface HotCommand {
  readonly flags: FlagSpecs
  run(flags: ParsedFlags, context: HotContext): Promise<unknown>
}

export interface HotContext {
  version: string
  json: boolean
}

/** What the server flags select, as the flows take it. */
function selection(flags: AnyFlags): {region: string | undefined; host: string | undefined; clientId: string | undefined} {
  return {region: flags.region as string | undefined, host: flags.host as string | undefined, clientId: flags['client-id'] as string | undefined}
}

async function deps(flags: AnyFlags, {version}: HotContext) {
  const {createDeps} = await import('../deps.js')
  return createDeps({version, verbose: flags.verbose === true})
}

/** Flags as either parser gives them: the fast path's strings and booleans, or oclif's typed values. */
type AnyFlags = Readonly<Record<string, string | number | boolean | undefined>>

export async function runToken(flags: AnyFlags, context: HotContext) {
  const [{token}, {renderToken}, {REFRESH_MARGIN_SECONDS}] = await Promise.all([import('../flows/token.js'), import('../render/token.js'), import('../session/session.js')])
  const result = await token(await deps(flags, context), {...selection(flags), minValidSeconds: typeof flags['min-valid'] === 'number' ? flags['min-valid'] : REFRESH_MARGIN_SECONDS})
  if (!context.json) process.stdout.write(renderToken(result))
  return result
}

export async function runStatus(flags: AnyFlags, context: HotContext) {
  const [{status}, {renderStatus}] = await Promise.all([import('../flows/status.js'), import('../render/status.js')])
  const result = await status(await deps(flags, context), selection(flags))
  if (!context.json) process.stdout.write(renderStatus(result))
  return result
}

export async function runScopesDescription(_flags: AnyFlags, context: HotContext) {
  const [{describeScopes}, {renderScopesTable}] = await Promise.all([import('../flows/describe-scopes.js'), import('../render/scopes.js')])
  const description = describeScopes()
  if (!context.json) process.stdout.write(renderScopesTable(description))
  return description
}

export const HOT_COMMANDS: Readonly<Record<string, HotCommand>> = {
  token: {flags: SERVER_FLAG_SPECS, run: runToken},
  status: {flags: SERVER_FLAG_SPECS, run: runStatus},
  scopes: {flags: SERVER_FLAG_SPECS, run: runScopesDescription},
}
