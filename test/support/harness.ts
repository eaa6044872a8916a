import {readFileSync} from 'node:fs'
import path from 'node:path'
import {PassThrough} from 'node:stream'

import {setupServer} from 'msw/node'
import {afterEach} from 'vitest'

import {follow} from '../../scripts/scripted-browser.mjs'
import type {Browser} from '../../src/browser.js'
import {createDeps, type Deps} from '../../src/deps.js'
import {login} from '../../src/flows/login.js'
import type {Session} from '../../src/session/session.js'
import {createTerminalUi, type Ui} from '../../src/ui.js'
import {createLogger} from '../../src/log.js'
import {createMockServer, WIZARD_CLIENT_IDS} from '../mock-server/index.js'
import {isolatedHome} from './cli.js'

export const US_ISSUER = 'https://us.posthog.com'
export const WIZARD_CLIENT_ID = WIZARD_CLIENT_IDS.us

/**
 * A server the CLI has no built-in app for (not us/eu.posthog.com): login there listens on any free port
 * of 127.0.0.1 (RFC 8252) and doctor probes no fixed port, so a test on it never meets another test, or
 * another program, on the wizard app's fixed redirect ports 8235-8240 (those tests hold
 * test/support/wizard-ports.ts). The mock seeds the wizard app on every issuer, with
 * `http://127.0.0.1/callback` (any port) among its redirect URIs.
 */
export const FREE_PORT_ISSUER = 'https://posthog.onramp-tests.example'
/** The selection (flags) for FREE_PORT_ISSUER and its wizard app: `runDoctor(deps, {selection: FREE_PORT_SERVER})`. */
export const FREE_PORT_SERVER = {host: FREE_PORT_ISSUER, clientId: WIZARD_CLIENT_ID} as const

export type MockServer = ReturnType<typeof createMockServer>

/** Captures what a flow writes to stderr (flows never write to stdout: commands render results). */
export function capture(): {write: (chunk: string) => boolean; text: () => string} {
  let text = ''
  return {write: (chunk) => ((text += chunk), true), text: () => text}
}

export interface Harness {
  mock: MockServer
  server: ReturnType<typeof setupServer>
  deps: Deps
  stderr: ReturnType<typeof capture>
  stdin: PassThrough
  /** URLs the flow asked the "browser" to open. */
  opened: string[]
  /**
   * What the fake browser does with the authorization URL (default: click Authorize), and why it cannot
   * open (undefined: it can; a reason: like a headless machine).
   */
  browser: {action: (url: string) => Promise<void> | void; unavailable?: string | undefined}
  /** Whether the fake terminal counts as a person at the keyboard (prompts, pasted URLs); default false. */
  terminal: {interactive: boolean}
  home: string
  env: Record<string, string>
  /** Moves the CLI's clock (not the mock's). */
  advance: (seconds: number) => void
  logLines: () => Record<string, unknown>[]
  credentialsText: () => string
  /** Deps with a fresh logger/store but the same home, clock and browser: a second CLI process. */
  newDeps: (extra?: {verbose?: boolean}) => Promise<Deps>
  close: () => Promise<void>
}

/**
 * The CLI's flows wired to the MSW mock in-process: a throwaway HOME, a fake browser that follows the
 * consent page like a person, and a movable clock. Loopback traffic (the callback) bypasses MSW.
 */
export async function startHarness(options: Parameters<typeof createMockServer>[0] & {verbose?: boolean} = {}): Promise<Harness> {
  const {verbose, ...mockOptions} = options
  const mock = createMockServer({issuer: US_ISSUER, ...mockOptions})
  const server = setupServer(...mock.handlers)
  server.listen({onUnhandledRequest: 'bypass'})
  const isolated = isolatedHome()
  let offsetMs = 0
  const stderr = capture()
  const stdin = new PassThrough()
  const opened: string[] = []
  const browser: Harness['browser'] = {action: (url) => follow(url, 'authorize')}
  const terminal: Harness['terminal'] = {interactive: false}
  const fakeBrowser: Browser = {
    unavailableReason: () => browser.unavailable,
    open: async (url) => {
      opened.push(url)
      // Like a real browser: the CLI does not wait for it.
      void Promise.resolve(browser.action(url)).catch(() => {})
      return {opened: true}
    },
  }
  const make = async (extra: {verbose?: boolean} = {}) => {
    const verboseNow = extra.verbose ?? verbose ?? false
    const now = () => new Date(Date.now() + offsetMs)
    const paths = (await createDeps({version: 'test', env: isolated.env, stderr})).paths
    const logger = createLogger({file: path.join(paths.state, 'onramp.log'), verbose: verboseNow, stderr})
    const terminalUi = createTerminalUi({stdin, stderr, logger, env: isolated.env})
    // A terminal over buffers whose "is a person there" answer the test decides.
    const ui: Ui = {...terminalUi, get interactive() {
      return terminal.interactive
    }}
    return createDeps({env: isolated.env, stderr, stdin, verbose: verboseNow, version: 'test', now, ui, browser: fakeBrowser})
  }
  const deps = await make()
  return {
    mock,
    server,
    deps,
    stderr,
    stdin,
    opened,
    browser,
    terminal,
    home: isolated.home,
    env: isolated.env,
    advance: (seconds) => void (offsetMs += seconds * 1000),
    logLines: () => {
      try {
        return readFileSync(path.join(deps.paths.state, 'onramp.log'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>)
      } catch {
        return []
      }
    },
    credentialsText: () => {
      try {
        return readFileSync(path.join(deps.paths.config, 'credentials.json'), 'utf8')
      } catch {
        return ''
      }
    },
    newDeps: make,
    close: async () => {
      server.close()
      isolated.cleanup()
    },
  }
}

export const loginDefaults = {browser: true, timeoutSeconds: 20, port: 0} as const

/** Every stored session with its tokens (list() holds metadata only; get() reads the tokens, from the keychain maybe). */
export async function storedSessions(deps: Pick<Deps, 'sessions'>): Promise<Session[]> {
  const store = await deps.sessions()
  return Promise.all((await store.list()).map(async (info) => (await store.get(info))!))
}

/**
 * One harness per test, closed after it: `start()` starts it, `loggedIn()` starts it and logs in through
 * the consent page (the usual first step of a status, token or logout test).
 */
export function harnessPerTest(): {start: (options?: HarnessOptions) => Promise<Harness>; loggedIn: (options?: HarnessOptions) => Promise<Harness>} {
  let current: Harness | undefined
  afterEach(async () => {
    await current?.close()
    current = undefined
  })
  const start = async (options: HarnessOptions = {}) => (current = await startHarness(options))
  return {
    start,
    loggedIn: async (options = {}) => {
      const h = await start(options)
      await login(h.deps, loginDefaults)
      return h
    },
  }
}

type HarnessOptions = Parameters<typeof startHarness>[0]
