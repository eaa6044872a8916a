import {spawn} from 'node:child_process'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {beforeEach, describe, expect, it} from 'vitest'

import {BIN, cliEnv, ROOT, runCli} from '../support/cli.js'
import {expireStoredSessions, storeFilePath} from '../support/credentials-file.js'
import {againIfKeyringRestarted, secretServiceUnavailable} from '../support/keyring.js'
import {servedMockForFile} from '../support/mock-process.js'
import {describeUnless} from '../support/skip.js'
import {expectOneToken, tokenStorm} from '../support/token-storm.js'
import {waitFor} from '../support/wait-for.js'

const served = servedMockForFile()
const env = served.env
beforeEach(async () => {
  await served.mock.control('config', {latency_ms: 0})
})

interface MockState {
  counters: {grants: Record<string, number>; requests: Record<string, number>}
}

const credentialsFile = () => storeFilePath(served.home.env)
const refreshes = async () => (await served.mock.control<MockState>('state')).counters.grants.refresh_token ?? 0
/** Token requests the mock has received (counted on arrival, before its latency). */
const tokenRequests = async () =>
  Object.entries((await served.mock.control<MockState>('state')).counters.requests)
    .filter(([key]) => key.startsWith('POST /oauth/token'))
    .reduce((sum, [, count]) => sum + count, 0)

/** Logs in through the built binary, then moves the stored expiry into the past (the CLI's clock). */
async function loginWithExpiredToken(): Promise<string> {
  const login = await runCli(['login', '--json'], {env: env()})
  expect(login.code, login.stderr).toBe(0)
  const [session] = expireStoredSessions(served.home.env)
  return session!.access_token as string
}

async function works(accessToken: string): Promise<boolean> {
  const me = await fetch(`${served.mock.issuer}/api/users/@me/`, {headers: {authorization: `Bearer ${accessToken}`}})
  return me.status === 200
}

describe('onramp token under load, file store', () => {
  it('32 processes at once with an expired token: one refresh, all exit 0 with the same token', async () => {
    const expired = await loginWithExpiredToken()
    const before = await refreshes()
    const printed = expectOneToken(await tokenStorm(env(), 32, 240_000))
    expect(printed).toMatch(/^pha_/)
    expect(printed).not.toBe(expired)
    expect(await refreshes()).toBe(before + 1)
    expect(await works(printed)).toBe(true)
    const locks = path.join(served.home.env.XDG_STATE_HOME!, 'onramp', 'locks')
    expect(existsSync(locks) ? readdirSync(locks) : []).toEqual([])
  }, 300_000)

  it('a process killed mid-refresh leaves a state the next run recovers from at once', async () => {
    await loginWithExpiredToken()
    const refreshesBefore = await refreshes()
    const tokenRequestsBefore = await tokenRequests()
    await served.mock.control('config', {latency_ms: 4000}) // the refresh request hangs while we kill its sender
    const locks = path.join(served.home.env.XDG_STATE_HOME!, 'onramp', 'locks')
    const child = spawn(process.execPath, [BIN, 'token'], {cwd: ROOT, env: cliEnv(env()), stdio: 'ignore'})
    // Under its lock and inside the refresh request: the mock has received it and holds it for 4 s.
    await waitFor('the refresh request to reach the mock', async () => (await tokenRequests()) > tokenRequestsBefore)
    expect(readdirSync(locks).some((name) => name.endsWith('.lock'))).toBe(true)
    const exited = new Promise((resolve) => child.on('exit', resolve))
    child.kill('SIGKILL')
    await exited
    expect(readdirSync(locks).some((name) => name.endsWith('.lock'))).toBe(true) // left behind by the killed holder
    await served.mock.control('config', {latency_ms: 0})
    // The killed process's request is still held by the mock: let it land (the mock spends the refresh
    // token) before anything is counted, here and in the next test.
    await waitFor('the killed refresh to land', async () => (await refreshes()) > refreshesBefore)

    // Killed (code null) unless it gets past the dead holder's lock long before the 90 s lock timeout.
    const next = await runCli(['token'], {env: env(), timeoutMs: 20_000})
    expect(next.code, next.stderr).toBe(0)
    expect(await works(next.stdout.trim())).toBe(true)
    // And the run after that uses what was stored, without another refresh.
    const count = await refreshes()
    const again = await runCli(['token'], {env: env()})
    expect(again.stdout).toBe(next.stdout)
    expect(await refreshes()).toBe(count)
  }, 120_000)
})

const noSecretService = secretServiceUnavailable()

describeUnless(noSecretService)('onramp token under load, OS keychain (a real Secret Service)', () => {
  // Retried once only when gnome-keyring itself ended meanwhile (with-keyring.sh restarts and reports it).
  it('16 processes at once with an expired token in the keychain: one refresh, all exit 0 with the same token', () => againIfKeyringRestarted(async () => {
    const keychainEnv = () => ({...env(), ONRAMP_STORAGE: 'keychain'})
    const login = await runCli(['login', '--json'], {env: keychainEnv()})
    expect(login.code, login.stderr).toBe(0)
    // The expiry lives in the metadata file (the tokens are in the keychain): move it into the past.
    const [entry] = expireStoredSessions(served.home.env, 'sessions.json')
    expect(entry!.secrets).toBe('keychain')
    expect(existsSync(credentialsFile()) ? readFileSync(credentialsFile(), 'utf8') : '').not.toMatch(/pha_/) // no token on disk

    const before = await refreshes()
    const printed = expectOneToken(await tokenStorm(keychainEnv(), 16, 240_000))
    expect(await refreshes()).toBe(before + 1)
    expect(await works(printed)).toBe(true)
    expect((await runCli(['logout'], {env: keychainEnv()})).code).toBe(0) // leaves nothing in the shared keyring
  }), 600_000)
})
