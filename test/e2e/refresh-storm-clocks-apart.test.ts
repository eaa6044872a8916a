/**
 * Issue 16 item 4: `onramp token` as real child processes whose process clock is 2 h ahead of or behind
 * the file system's (libfaketime; the mtimes stay real), as on an NFS home whose server's clock differs
 * or a drifted VM. An expired session, many processes at once: exactly one refresh reaches the server,
 * none fails, all print the same token. On the file store (32), the OS keychain (16, under
 * scripts/with-keyring.sh) and a provisioning (signup) session, whose refresh token is single-use (16).
 * And a holder that keeps the lock far longer than the (shortened) stale limit, behind a slow token
 * endpoint, with a second process waiting: one refresh, both succeed. The same storms in-process, with
 * the `now` port moved instead: integration/refresh-storm-clocks-apart.test.ts.
 */
import {existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {beforeEach, describe, expect, it} from 'vitest'

import {lockPathFor} from '../../src/session/lock.js'
import {runCli, type CliResult} from '../support/cli.js'
import {CLOCK_OFFSETS, faketimeEnv, faketimeUnavailable, OFFSET_MS, type ClockOffset} from '../support/faketime.js'
import {againIfKeyringRestarted, secretServiceUnavailable} from '../support/keyring.js'
import {servedMockForFile} from '../support/mock-process.js'
import {describeUnless} from '../support/skip.js'
import {expectOneToken, tokenStorm} from '../support/token-storm.js'
import {waitFor} from '../support/wait-for.js'

/** Generous: 32 node processes start at once on a 2-core machine shared with other suites. */
const STORM_TIMEOUT = 300_000

interface MockState {
  counters: {grants: Record<string, number>; requests: Record<string, number>; provisioning: {token_requests: {refresh_token: number}}}
}

const noFaketime = faketimeUnavailable()
const served = servedMockForFile({unless: noFaketime})
beforeEach(async () => {
  if (!noFaketime) await served.mock.control('config', {latency_ms: 0})
})
const env = served.env
const state = () => served.mock.control<MockState>('state')
const oauthRefreshes = async () => (await state()).counters.grants.refresh_token ?? 0
const provisioningRefreshes = async () => (await state()).counters.provisioning.token_requests.refresh_token
const tokenRequests = async () =>
  Object.entries((await state()).counters.requests)
    .filter(([key]) => key.startsWith('POST /oauth/token'))
    .reduce((sum, [, count]) => sum + count, 0)

/** Rewrites the stored expiry (in credentials.json, or sessions.json for the keychain) to one second ago by a clock `offset` off ours. */
function expireFor(offset: ClockOffset, file: 'credentials.json' | 'sessions.json'): string | undefined {
  const where = path.join(served.home.env.XDG_CONFIG_HOME!, 'onramp', file)
  const data = JSON.parse(readFileSync(where, 'utf8')) as {sessions: Record<string, {expires_at: string; access_token?: string}>}
  const [session] = Object.values(data.sessions)
  session!.expires_at = new Date(Date.now() + OFFSET_MS[offset] - 1000).toISOString()
  writeFileSync(where, JSON.stringify(data, null, 2), {mode: 0o600})
  return session!.access_token
}

const storm = (processes: number, runEnv: Record<string, string>) => tokenStorm(runEnv, processes, STORM_TIMEOUT - 30_000)

/** 1 refresh, 0 failures, 1 distinct token (which the server accepts). */
async function expectOneRefresh(runs: CliResult[], refreshed: number, expired: string | undefined): Promise<string> {
  const printed = expectOneToken(runs)
  expect(printed).toMatch(/^pha_/)
  expect(printed).not.toBe(expired)
  expect(refreshed).toBe(1)
  return printed
}

describeUnless(noFaketime)('onramp token storms with the process clock hours off the file system', () => {
  describe.each(CLOCK_OFFSETS)('clock %s', (offset) => {
    it(`32 processes on the file store: one refresh, no failure, one token`, async () => {
      const login = await runCli(['login', '--json'], {env: env()})
      expect(login.code, login.stderr).toBe(0)
      const expired = expireFor(offset, 'credentials.json')
      const before = await oauthRefreshes()
      const runs = await storm(32, env(faketimeEnv(offset)))
      const printed = await expectOneRefresh(runs, (await oauthRefreshes()) - before, expired)
      const me = await fetch(`${served.mock.issuer}/api/users/@me/`, {headers: {authorization: `Bearer ${printed}`}})
      expect(me.status).toBe(200)
    }, STORM_TIMEOUT)

    it(`16 processes on a provisioning (signup) session: one refresh, no failure, one token`, async () => {
      const signup = await runCli(['signup', '--email', `storm-${offset === '+2h' ? 'ahead' : 'behind'}@example.com`, '--non-interactive', '--json'], {env: env()})
      expect(signup.code, signup.stderr).toBe(0)
      const {project} = JSON.parse(signup.stdout) as {project: {id: string}}
      const expired = expireFor(offset, 'credentials.json')
      const before = await provisioningRefreshes()
      const runs = await storm(16, env(faketimeEnv(offset)))
      const printed = await expectOneRefresh(runs, (await provisioningRefreshes()) - before, expired)
      const read = await fetch(`${served.mock.issuer}/api/agentic/provisioning/resources/${project.id}`, {headers: {authorization: `Bearer ${printed}`}})
      expect(read.status).toBe(200)
    }, STORM_TIMEOUT)

    describeUnless(secretServiceUnavailable())('OS keychain (a real Secret Service)', () => {
      // Retried once only when gnome-keyring itself ended meanwhile (with-keyring.sh restarts and reports it).
      it(`16 processes on the keychain store: one refresh, no failure, one token`, () => againIfKeyringRestarted(async () => {
        const keychainEnv = (extra: Record<string, string> = {}) => env({ONRAMP_STORAGE: 'keychain', ...extra})
        const login = await runCli(['login', '--json'], {env: keychainEnv()})
        expect(login.code, login.stderr).toBe(0)
        expireFor(offset, 'sessions.json') // the tokens are in the keychain, the expiry in the metadata file
        const before = await oauthRefreshes()
        const runs = await storm(16, keychainEnv(faketimeEnv(offset)))
        await expectOneRefresh(runs, (await oauthRefreshes()) - before, undefined)
        expect((await runCli(['logout'], {env: keychainEnv()})).code).toBe(0) // leaves nothing in the shared keyring
      }), 2 * STORM_TIMEOUT)
    })
  })

  it('a lock dated 2099 by a live process that never beats: the first run takes it over after the stale limit, the next does not wait', async () => {
    const login = await runCli(['login', '--json'], {env: env()})
    expect(login.code, login.stderr).toBe(0)
    const credentials = JSON.parse(readFileSync(path.join(served.home.env.XDG_CONFIG_HOME!, 'onramp', 'credentials.json'), 'utf8')) as {sessions: Record<string, unknown>}
    const [key] = Object.keys(credentials.sessions)
    const lockPath = lockPathFor({dir: path.join(served.home.env.XDG_STATE_HOME!, 'onramp', 'locks'), identity: key!})
    mkdirSync(path.dirname(lockPath), {recursive: true, mode: 0o700})
    writeFileSync(lockPath, JSON.stringify({pid: process.pid, host: os.hostname(), created: '2099-01-01T00:00:00.000Z', nonce: 'from the future'}), {mode: 0o600})
    const future = new Date('2099-01-01T00:00:00Z')
    utimesSync(lockPath, future, future)
    const expired = expireFor('+2h', 'credentials.json')
    const shortStale = {ONRAMP_LOCK_STALE_MS: '3000'}
    const before = await oauthRefreshes()
    const first = await runCli(['token'], {env: env({...faketimeEnv('+2h'), ...shortStale}), timeoutMs: 60_000})
    const printed = await expectOneRefresh([first], (await oauthRefreshes()) - before, expired)
    expect(existsSync(lockPath)).toBe(false) // taken over, then released: nobody waits on it again
    const next = await runCli(['token'], {env: env({...faketimeEnv('+2h'), ONRAMP_LOCK_STALE_MS: '600000'}), timeoutMs: 60_000})
    expect(next.code, next.stderr).toBe(0) // with a 10-minute stale limit: it did not wait on anything
    expect(next.stdout.trim()).toBe(printed)
  }, 120_000)

  it('a holder kept far past the stale limit by a slow token endpoint is not evicted by a process waiting under another clock: one refresh, both succeed', async () => {
    const login = await runCli(['login', '--json'], {env: env()})
    expect(login.code, login.stderr).toBe(0)
    // The holder runs 2 h ahead, the waiter 2 h behind: the session is expired by both clocks.
    const expired = expireFor('-2h', 'credentials.json')
    const shortStale = {ONRAMP_LOCK_STALE_MS: '2000'}
    await served.mock.control('config', {latency_ms: 8000}) // four stale limits and more inside the refresh request
    const requestsBefore = await tokenRequests()
    const before = await oauthRefreshes()
    const holder = runCli(['token'], {env: env({...faketimeEnv('+2h'), ...shortStale}), timeoutMs: 60_000})
    // The holder has the lock and its refresh request is at the mock, held there for 8 s.
    await waitFor('the holder\'s refresh request to reach the mock', async () => (await tokenRequests()) > requestsBefore, {timeoutMs: 40_000})
    const waiter = runCli(['token'], {env: env({...faketimeEnv('-2h'), ...shortStale}), timeoutMs: 60_000})
    const runs = await Promise.all([holder, waiter])
    await expectOneRefresh(runs, (await oauthRefreshes()) - before, expired)
  }, 120_000)
})
