import path from 'node:path'

/** Where onramp keeps its files; every directory ends in `/onramp`. */
export interface Paths {
  /** credentials.json (file backend) and remembered clients. */
  config: string
  /** Discovery documents: safe to delete at any time. */
  cache: string
  /** onramp.log and lock files: state that survives restarts but is not configuration. */
  state: string
}

const LAYOUT = [
  ['config', 'XDG_CONFIG_HOME', ['.config']],
  ['cache', 'XDG_CACHE_HOME', ['.cache']],
  ['state', 'XDG_STATE_HOME', ['.local', 'state']],
] as const

/**
 * The XDG Base Directory layout on every platform, like `gh`: one predictable set of locations that
 * users (and tests) steer with HOME / XDG_* instead of a per-OS scheme (~/Library/..., %APPDATA%).
 * A relative XDG_* value is ignored, as the XDG spec requires. `env.HOME` wins over `home` so a test
 * can point HOME at a temp dir without touching os.homedir(). `platform` is accepted so a per-OS
 * layout can be added later without changing callers; today it does not change the result.
 */
export function resolvePaths(
  env: NodeJS.ProcessEnv = process.env,
  home?: string,
  _platform: NodeJS.Platform = process.platform,
): Paths {
  // node:os only without a usable HOME: loading it is a fifth of a millisecond of every `onramp token`.
  const base = env.HOME && path.isAbsolute(env.HOME) ? env.HOME : (home ?? process.getBuiltinModule('node:os').homedir())
  const pick = (variable: string, fallback: readonly string[]): string => {
    const value = env[variable]
    const root = value && path.isAbsolute(value) ? value : path.join(base, ...fallback)
    return path.join(root, 'onramp')
  }
  const result = {} as Paths
  for (const [key, variable, fallback] of LAYOUT) result[key] = pick(variable, fallback)
  return result
}
