import type {BodyContext, BodyFlags} from '../cli/bodies/context.js'
import {SERVER_FLAG_SPECS, SESSION_FLAG_SPECS, type FlagSpecs} from '../cli/flag-spec.js'

/**
 * The fast path's dispatch table: each hot command's flags (what the fast parser accepts beyond --json
 * and --verbose; an oclif flag missing here, `token --min-valid`, `scopes --check`, sends that command line
 * to oclif) and its body, the same function its oclif command runs (src/cli/bodies/), loaded on dispatch.
 */
export interface HotCommand {
  readonly flags: FlagSpecs
  body(): Promise<(flags: BodyFlags, context: BodyContext) => Promise<unknown>>
}

export const HOT_COMMANDS: Readonly<Record<string, HotCommand>> = {
  token: {flags: SESSION_FLAG_SPECS, body: async () => (await import('../cli/bodies/token.js')).tokenBody},
  status: {flags: SESSION_FLAG_SPECS, body: async () => (await import('../cli/bodies/status.js')).statusBody},
  scopes: {flags: SERVER_FLAG_SPECS, body: async () => (await import('../cli/bodies/scopes.js')).scopesBody},
}

/** The hot command named `name`, if any: an own property only (`toString`, `__proto__` are no commands). */
export function hotCommand(name: string | undefined): HotCommand | undefined {
  return name !== undefined && Object.hasOwn(HOT_COMMANDS, name) ? HOT_COMMANDS[name] : undefined
}
