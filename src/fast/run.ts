import {readFileSync} from 'node:fs'
import path from 'node:path'

import {BASE_FLAG_SPECS, JSON_FLAG_SPEC} from '../cli/flag-spec.js'
import {hotCommand} from './commands.js'
import {parseFlags} from './parse.js'
import {writeStdout} from './stdout.js'

interface PackageJson {
  name: string
  version: string
  oclif?: Record<string, unknown>
}

/**
 * The fast path for the commands scripts call in loops (`token`, `status`, `scopes`, `--version`):
 * it answers them without loading @oclif/core (about half of their start-up), when it understands
 * the whole command line and environment. Returns false, having done nothing, in every other case,
 * and bin/run.cjs hands the same argv to oclif, which then gives today's answer, help or error.
 * ONRAMP_NO_FAST_PATH=1 (tests, benchmarks) always takes the oclif path.
 */
export async function runFast(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (changesOclifBehaviour(env)) return false
  const pjson = readPackageJson()
  if (!pjson || hasOclifExtras(pjson)) return false
  if (argv[0] === '--version') return printVersion(pjson)
  const command = hotCommand(argv[0])
  if (!command) return false
  const flags = parseFlags(argv.slice(1), {...command.flags, ...BASE_FLAG_SPECS, ...JSON_FLAG_SPEC}, env)
  if (!flags) return false
  const json = flags.json === true
  if (json && hasUserTheme(env)) return false
  try {
    const body = await command.body()
    const verbose = flags.verbose === true
    const deps = async () => (await import('../cli/command-deps.js')).commandDeps({version: pjson.version, verbose})
    const result = await body(flags, {json, deps, out: writeStdout})
    // oclif's logJson: pretty JSON, uncoloured without a theme.
    if (json && result) writeStdout(JSON.stringify(result, null, 2) + '\n')
  } catch (error) {
    // OnrampCommand.catch, minus the oclif errors that cannot happen here.
    const [{asOnrampError}, {writeErrorDocument}] = await Promise.all([import('../errors.js'), import('../render/error.js')])
    const onramp = asOnrampError(error)
    writeErrorDocument(onramp, {json})
    process.exitCode = onramp.exit
  }
  return true
}

/**
 * Environment that makes oclif print or behave differently (debug output, JSON by env, ts sources in
 * development): oclif handles those runs.
 */
function changesOclifBehaviour(env: NodeJS.ProcessEnv): boolean {
  if (env.NODE_ENV && env.NODE_ENV !== 'production') return true
  return ['DEBUG', 'CLI_FLAGS_DEBUG', 'ONRAMP_DEBUG', 'ONRAMP_CONTENT_TYPE', 'ONRAMP_CONFIG_DIR'].some((name) => env[name])
}

/** package.json's name, version and oclif section, written in by scripts/build.js (read from the file when running from sources). */
declare const __ONRAMP_PACKAGE__: PackageJson | undefined

function readPackageJson(): PackageJson | undefined {
  if (typeof __ONRAMP_PACKAGE__ !== 'undefined') return __ONRAMP_PACKAGE__
  try {
    return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as PackageJson
  } catch {
    return undefined
  }
}

/**
 * Plugins, themes, extra version flags: oclif features the fast path does not reproduce. Known and
 * harmless here: topic descriptions (help only), the command_not_found hook (a hot command is found) and `-h` (a short flag, which the
 * fast parser always hands to oclif).
 */
function hasOclifExtras(pjson: PackageJson): boolean {
  const known = new Set(['bin', 'dirname', 'commands', 'topicSeparator', 'topics', 'additionalHelpFlags'])
  const hooks = Object.keys((pjson.oclif?.hooks as Record<string, unknown> | undefined) ?? {})
  if (hooks.some((hook) => hook !== 'command_not_found')) return true
  const helpFlags = pjson.oclif?.additionalHelpFlags
  if (helpFlags !== undefined && JSON.stringify(helpFlags) !== '["-h"]') return true
  known.add('hooks')
  return Object.keys(pjson.oclif ?? {}).some((key) => !known.has(key))
}

/** oclif colours `--json` output with a user theme file (<config dir>/theme.json) on a colour terminal. */
function hasUserTheme(env: NodeJS.ProcessEnv): boolean {
  const home = env.HOME || process.getBuiltinModule('node:os').homedir()
  const configHome = env.XDG_CONFIG_HOME || path.join(home, '.config')
  try {
    readFileSync(path.join(configHome, 'onramp', 'theme.json'))
    return true
  } catch {
    return false
  }
}

/**
 * oclif's `--version`: its config.userAgent, with `wsl` as the platform under WSL (oclif's getPlatform asks
 * wsl-utils, which re-exports is-wsl; is-wsl alone is cheaper and answers false at once off Linux).
 */
async function printVersion(pjson: PackageJson): Promise<boolean> {
  let platform: string = process.platform
  if (platform === 'linux') {
    try {
      const {default: isWsl} = (await import('is-wsl')) as {default: boolean}
      if (isWsl) platform = 'wsl'
    } catch {
      return false
    }
  }
  const arch = process.arch === 'ia32' ? 'x86' : process.arch
  writeStdout(`${pjson.name}/${pjson.version} ${platform}-${arch} node-${process.version}\n`)
  return true
}
