import type {Deps} from '../../deps.js'

/**
 * What a hot command's body needs besides its flags, given alike by its oclif command
 * (OnrampCommand.bodyContext) and by the fast path (src/fast/run.ts).
 */
export interface BodyContext {
  /** --json: the body prints nothing and returns the document (oclif's logJson, or the fast path, prints it). */
  json: boolean
  /** Deps from the one builder (src/cli/command-deps.ts), built on first call: `scopes` needs none. */
  deps: () => Promise<Deps>
  /** Writes to stdout: process.stdout under oclif, the fast path's synchronous writer (src/fast/stdout.ts) there. */
  out: (text: string) => void
}

/** Flags as either parser gives them: the fast path's strings and booleans, or oclif's typed values. */
export type BodyFlags = Readonly<Record<string, string | number | boolean | undefined>>

/** What the server flags and --account select, as the flows take it (the environment is read by the selection). */
export function serverSelection(flags: BodyFlags): {region: string | undefined; host: string | undefined; clientId: string | undefined; account: string | undefined} {
  return {region: flags.region as string | undefined, host: flags.host as string | undefined, clientId: flags['client-id'] as string | undefined, account: flags.account as string | undefined}
}
