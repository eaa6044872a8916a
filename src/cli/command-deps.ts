import type {Deps} from '../deps.js'

export interface CommandDepsOptions {
  /** onramp's version (package.json), for the User-Agent and `doctor`. */
  version: string
  verbose?: boolean
  nonInteractive?: boolean
}

/**
 * The one Deps builder of the command layer: OnrampCommand.deps() and the fast path (src/fast/) both
 * call it, so a command answers the same whichever path parsed it. No @oclif/core here; the real
 * parts load on call.
 */
export async function commandDeps({version, verbose = false, nonInteractive = false}: CommandDepsOptions): Promise<Deps> {
  const {createDeps} = await import('../deps.js')
  return createDeps({version, verbose, nonInteractive})
}
