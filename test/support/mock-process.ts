import {spawn, type ChildProcess} from 'node:child_process'
import path from 'node:path'

import {beforeEach} from 'vitest'

import {WIZARD_APP_CEILING} from '../mock-server/scope-data.js'
import {WIZARD_CLIENT_IDS} from '../mock-server/state.js'
import {cliEnv, isolatedHome, ROOT, runCli, type CliResult} from './cli.js'
import {forFile, homeForFile, homePerTest} from './lifecycle.js'

/** The wizard app the mock seeds on every issuer (its US client id). */
export const WIZARD_CLIENT_ID = WIZARD_CLIENT_IDS.us
/** scripts/scripted-browser.mjs as $BROWSER: follows the consent page to the redirect, as a person would. */
export const SCRIPTED_BROWSER = `${process.execPath} ${path.join(ROOT, 'scripts', 'scripted-browser.mjs')}`

export interface MockProcess {
  issuer: string
  child: ChildProcess
  /** GET/POST the mock's HTTP control surface under /__mock/. */
  control<T = unknown>(path: string, body?: unknown): Promise<T>
  stop(): Promise<void>
}

/** `npm run mock-server` as a real process on a free loopback port (what the e2e tests and the demo use). */
export async function startMockProcess(args: string[] = []): Promise<MockProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/mock-server/serve.ts', '--port', '0', ...args], {
    cwd: ROOT,
    env: cliEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const issuer = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`mock server did not start in time: ${stderr}`)), 20_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /mock server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`mock server exited with ${code}: ${stderr}`))
    })
  })
  return {
    issuer,
    child,
    async control<T>(path: string, body?: unknown): Promise<T> {
      const response = await fetch(`${issuer}/__mock/${path}`, body === undefined ? {} : {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})
      if (!response.ok) throw new Error(`mock control ${path}: HTTP ${response.status} ${await response.text()}`)
      return (await response.json()) as T
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill()
      }),
  }
}

export interface ServedMock {
  /** The mock process (started before the file's first test). */
  readonly mock: MockProcess
  /** This test's throwaway HOME and XDG folders (with `homePer: 'file'`, the file's). */
  readonly home: ReturnType<typeof isolatedHome>
  /** Where the scripted browser logs its requests in this test (FOLLOW_LOG, in the home). */
  readonly followLog: string
  /** This test's environment for the built binary: its home, the mock's wizard app and the scripted browser (logging to followLog) unless `browser: false`, then `extra`. */
  env(extra?: Record<string, string>): Record<string, string>
  /** Runs the built binary in `env(extra)`. */
  run(args: string[], extra?: Record<string, string>): Promise<CliResult>
}

/**
 * The set-up of the e2e tests against the served mock: one mock process for the file (`args` for its
 * command line), a fresh isolated home for each test, and before each test the wizard app's scope
 * ceiling put back to the mock's own (a test may narrow it). `browser: false` leaves BROWSER unset, so
 * that no browser can open (the scripted one otherwise). `homePer: 'file'`: one home for all the file's
 * tests, for tests that build on each other's sessions. `unless`: the reason the file's tests are
 * skipped, if any (then no mock starts).
 */
export function servedMockForFile(options: {args?: string[]; browser?: boolean; homePer?: 'test' | 'file'; unless?: string | false} = {}): ServedMock {
  const browser = options.browser ?? true
  const mock = forFile('the mock', () => startMockProcess(options.args), (started) => started.stop(), {unless: options.unless})
  const home = options.homePer === 'file' ? homeForFile() : homePerTest()
  beforeEach(async () => {
    if (!options.unless) await mock().control('apps', {client_id: WIZARD_CLIENT_ID, scopes: WIZARD_APP_CEILING})
  })
  const served: ServedMock = {
    get mock() {
      return mock()
    },
    get home() {
      return home()
    },
    get followLog() {
      return path.join(served.home.home, 'follow.log')
    },
    env: (extra = {}) => ({
      ...served.home.env,
      ONRAMP_HOST: served.mock.issuer,
      ONRAMP_CLIENT_ID: WIZARD_CLIENT_ID,
      ...(browser ? {BROWSER: SCRIPTED_BROWSER, FOLLOW_LOG: served.followLog} : {}),
      ...extra,
    }),
    run: (args, extra = {}) => runCli(args, {env: served.env(extra)}),
  }
  return served
}
