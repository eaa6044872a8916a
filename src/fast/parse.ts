import type {FlagSpecs} from '../cli/flag-spec.js'

export type ParsedFlags = Record<string, string | boolean | undefined>

/**
 * The fast path's flag parser: the subset of oclif's grammar the hot commands need, and nothing else.
 * Returns undefined for anything it does not fully understand (an unknown or short flag, `--`, `--no-x`,
 * a positional argument, a repeated flag, a missing, empty or dash-leading value, a value or env value
 * outside `options`): oclif then parses the same argv and gives its own answer, error or help.
 * Accepted: `--bool`, `--name value`, `--name=value`; a string flag not given is read from its `env`
 * variable when that is non-empty (as oclif does), booleans default to false.
 */
export function parseFlags(argv: readonly string[], specs: FlagSpecs, env: NodeJS.ProcessEnv): ParsedFlags | undefined {
  const flags: ParsedFlags = {}
  const seen = new Set<string>()
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!
    if (!arg.startsWith('--') || arg === '--') return undefined
    const equals = arg.indexOf('=')
    const name = arg.slice(2, equals === -1 ? undefined : equals)
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined
    if (!spec || seen.has(name)) return undefined
    seen.add(name)
    if (spec.kind === 'boolean') {
      if (equals !== -1) return undefined
      flags[name] = true
      continue
    }
    const value = equals === -1 ? argv[++index] : arg.slice(equals + 1)
    if (!acceptable(value, spec.options)) return undefined
    flags[name] = value
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (seen.has(name)) continue
    if (spec.kind === 'boolean') {
      flags[name] = false
      continue
    }
    const fromEnv = spec.env ? env[spec.env] : undefined
    if (fromEnv && !acceptable(fromEnv, spec.options)) return undefined
    flags[name] = fromEnv || undefined
  }
  return flags
}

function acceptable(value: string | undefined, options: readonly string[] | undefined): value is string {
  if (value === undefined || value === '' || value.startsWith('-')) return false
  return !options || options.includes(value)
}
