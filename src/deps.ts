import path from 'node:path'

import {createBrowser, type Browser} from './browser.js'
import {createHttp, installProxyFromEnv, type Fetch} from './http.js'
import {createLogger, type Logger} from './log.js'
import {resolvePaths, type Paths} from './paths.js'
import {openSessionStore} from './session/open-store.js'
import type {SessionStore} from './session/store.js'
import {createTerminalUi, type Ui, type Writer} from './ui.js'

/**
 * Everything a flow touches in the outside world, as one small object: built once by the base
 * command from real parts, and in tests from fakes or the MSW mock. Flows never reach for globals.
 */
export interface Deps {
  env: NodeJS.ProcessEnv
  http: Fetch
  now: () => Date
  paths: Paths
  logger: Logger
  ui: Ui
  browser: Browser
  /** Opened lazily: only commands that need sessions pay for the backend. */
  sessions: () => Promise<SessionStore>
  /** onramp's version, for the User-Agent and `doctor`. */
  version: string
  /** Where `.onramp.json` is looked for (and above): the folder the command runs in. */
  cwd: string
}

export interface CreateDepsOptions {
  version: string
  verbose?: boolean
  nonInteractive?: boolean
  env?: NodeJS.ProcessEnv
  stderr?: Writer & {isTTY?: boolean}
  stdin?: NodeJS.ReadableStream & {isTTY?: boolean}
  fetch?: Fetch
  now?: () => Date
  ui?: Ui
  browser?: Browser
  cwd?: string
}

export async function createDeps(options: CreateDepsOptions): Promise<Deps> {
  const env = options.env ?? process.env
  const stderr = options.stderr ?? lazyStderr()
  const paths = resolvePaths(env)
  const logger = createLogger({file: path.join(paths.state, 'onramp.log'), verbose: options.verbose ?? false, stderr})
  if (!options.fetch) await installProxyFromEnv(env)
  const http = createHttp({userAgent: `onramp/${options.version}`, logger, ...(options.fetch ? {fetch: options.fetch} : {})})
  const ui = options.ui ?? createTerminalUi({stdin: options.stdin ?? (() => process.stdin), stderr, logger, env, nonInteractive: options.nonInteractive ?? false})
  let store: Promise<SessionStore> | undefined
  return {
    env,
    http,
    now: options.now ?? (() => new Date()),
    paths,
    logger,
    ui,
    browser: options.browser ?? createBrowser({env}),
    sessions: () => (store ??= openSessionStore({env, paths, warn: ui.warn})),
    version: options.version,
    cwd: options.cwd ?? process.cwd(),
  }
}

/**
 * process.stderr, created on first use: creating it loads the stream and net modules, a tenth of the
 * start-up of an `onramp token` that has nothing to say on stderr. Every property and method is the real
 * stream's (prompts hand it to readline as their output).
 */
function lazyStderr(): NodeJS.WriteStream {
  return new Proxy({} as NodeJS.WriteStream, {
    get: (_target, key) => {
      const value = Reflect.get(process.stderr, key, process.stderr) as unknown
      return typeof value === 'function' ? value.bind(process.stderr) : value
    },
    set: (_target, key, value) => Reflect.set(process.stderr, key, value),
    has: (_target, key) => Reflect.has(process.stderr, key),
    getPrototypeOf: () => Reflect.getPrototypeOf(process.stderr),
  })
}
