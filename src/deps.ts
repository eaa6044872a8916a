import path from 'node:path'

import {openBrowser} from './browser.js'
import {createHttp, installProxyFromEnv, type Fetch} from './http.js'
import {createLogger, type Logger} from './log.js'
import type {Writer} from './output.js'
import {resolvePaths, type Paths} from './paths.js'
import {openSessionStore} from './session/store.js'
import type {SessionStore} from './session/store.js'

/**
 * Everything a flow touches in the outside world, as one small object: built here from real parts
 * by a command's run(), and from fakes or the MSW mock in tests. Flows never reach for globals.
 */
export interface Deps {
  env: NodeJS.ProcessEnv
  stdout: Writer
  stderr: Writer
  stdin: NodeJS.ReadableStream
  http: Fetch
  now: () => Date
  paths: Paths
  logger: Logger
  openBrowser: (url: string) => Promise<void>
  /** Opened lazily: only commands that need sessions pay for the backend. */
  sessions: () => Promise<SessionStore>
  warn: (message: string) => void
  version: string
}

export interface CreateDepsOptions {
  verbose?: boolean
  version?: string
  env?: NodeJS.ProcessEnv
  stdout?: Writer
  stderr?: Writer
  stdin?: NodeJS.ReadableStream
  fetch?: Fetch
  now?: () => Date
  openBrowser?: (url: string) => Promise<void>
}

export async function createDeps(options: CreateDepsOptions = {}): Promise<Deps> {
  const env = options.env ?? process.env
  const stdout = options.stdout ?? process.stdout
  const stderr = options.stderr ?? process.stderr
  const now = options.now ?? (() => new Date())
  const version = options.version ?? '0.0.0'
  const paths = resolvePaths(env)
  const logger = createLogger({file: path.join(paths.state, 'onramp.log'), verbose: options.verbose ?? false, stderr})
  if (!options.fetch) await installProxyFromEnv(env)
  const http = createHttp({userAgent: `onramp/${version}`, logger, ...(options.fetch ? {fetch: options.fetch} : {})})
  const warn = (message: string) => {
    stderr.write(`Warning: ${message}\n`)
    logger.event('warning', {message}, 'warn', {echo: false})
  }
  let store: Promise<SessionStore> | undefined
  return {
    env,
    stdout,
    stderr,
    stdin: options.stdin ?? process.stdin,
    http,
    now,
    paths,
    logger,
    openBrowser: options.openBrowser ?? ((url) => openBrowser(url, {env, stderr})),
    sessions: () => (store ??= openSessionStore({env, paths, warn})),
    warn,
    version,
  }
}
