import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const BIN = path.join(ROOT, 'bin', 'run.cjs')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** A throwaway HOME with XDG dirs inside, so the CLI under test never touches the real user's files. */
export function isolatedHome(): {home: string; env: Record<string, string>; cleanup: () => void} {
  const home = mkdtempSync(path.join(tmpdir(), 'onramp-home-'))
  return {
    home,
    env: {
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_CACHE_HOME: path.join(home, '.cache'),
      XDG_STATE_HOME: path.join(home, '.local', 'state'),
      XDG_DATA_HOME: path.join(home, '.local', 'share'),
      ONRAMP_STORAGE: 'file',
    },
    cleanup: () => rmSync(home, {recursive: true, force: true}),
  }
}

/** The environment a spawned CLI gets: ours minus NODE_ENV (vitest's `test` makes oclif run sources) and DISPLAY. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {...process.env, ...extra}
  delete env.NODE_ENV
  delete env.DISPLAY
  for (const name of ['ONRAMP_HOST', 'ONRAMP_REGION', 'ONRAMP_CLIENT_ID', 'ONRAMP_ACCOUNT', 'ONRAMP_TOKEN', 'BROWSER', 'HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy', 'NO_PROXY', 'no_proxy']) {
    if (!(name in extra)) delete env[name]
  }
  for (const [key, value] of Object.entries(extra)) if (value === undefined) delete env[key]
  return env
}

/** Runs the built binary (npm run build first). */
export function runCli(
  args: string[],
  options: {
    env?: Record<string, string | undefined>
    input?: string
    timeoutMs?: number
    onStderr?: (chunk: string) => void
    /** Keeps stdin open and hands it over (for prompts and pastes); the caller ends it. */
    onStdin?: (stdin: NodeJS.WritableStream) => void
    /** The spawned process, e.g. to send it SIGINT as Ctrl-C would. */
    onChild?: (child: ChildProcess) => void
    /** The folder it runs in (default: the repository root); `.onramp.json` is looked for there and above. */
    cwd?: string
  } = {},
): Promise<CliResult> {
  if (!existsSync(path.join(ROOT, 'dist', 'commands'))) throw new Error('dist/ is missing: run `npm run build` before the CLI tests')
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {cwd: options.cwd ?? ROOT, env: cliEnv(options.env), stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      options.onStderr?.(chunk.toString())
    })
    options.onChild?.(child)
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 25_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
    if (options.onStdin) options.onStdin(child.stdin)
    else if (options.input !== undefined) child.stdin.end(options.input)
    else child.stdin.end()
  })
}
