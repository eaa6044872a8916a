/**
 * Issue 16 item 4, in-process: many "processes" (each its own Deps and store, as a separate `onramp
 * token` would have) refresh one expired session at once while the CLI's clock (the `now` port) is 2 h
 * ahead of or behind the file system's. Exactly one refresh reaches the server, nobody fails, and all
 * hand out the same token: on the file store, on the keychain store, and on a provisioning (signup)
 * session, whose refresh token is single-use. The real child processes under faketime are in
 * e2e/refresh-storm-clocks-apart.test.ts.
 */
import {afterEach, describe, expect, it} from 'vitest'

import type {Deps} from '../../src/deps.js'
import {login} from '../../src/flows/login.js'
import {signup} from '../../src/flows/signup.js'
import {token} from '../../src/flows/token.js'
import {openSessionStore} from '../../src/session/open-store.js'
import type {SessionStore} from '../../src/session/store.js'
import {CLOCK_OFFSETS, OFFSET_MS} from '../support/faketime.js'
import {fakeBackend} from '../support/keyring.js'
import {loginDefaults, startHarness, storedSessions, type Harness} from '../support/harness.js'

let harness: Harness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

interface Storm {
  store: 'file' | 'keychain'
  path: 'login' | 'signup'
  processes: number
}

const STORMS: Storm[] = [
  {store: 'file', path: 'login', processes: 32},
  {store: 'keychain', path: 'login', processes: 16},
  {store: 'file', path: 'signup', processes: 16},
]

describe.each(CLOCK_OFFSETS)('refresh storms with the CLI clock %s off the file system', (offset) => {
  it.each(STORMS.map((storm) => [`${storm.processes} processes on the ${storm.store} store (${storm.path} session)`, storm] as const))('%s: one refresh, no failure, one token', async (_title, {store: kind, path, processes}) => {
    const h = (harness = await startHarness())
    const keychain = fakeBackend() // one keychain for every process, as the OS has
    const openStore = async (): Promise<SessionStore> =>
      kind === 'file' ? (await h.newDeps()).sessions() : openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths: h.deps.paths, warn: () => {}, backend: keychain})
    const anotherProcess = async (): Promise<Deps> => {
      const store = await openStore()
      return {...(await h.newDeps()), sessions: async () => store}
    }
    const first = await anotherProcess()
    if (path === 'login') await login(first, loginDefaults)
    else await signup(first, {email: 'storm@example.com', store: true, timeoutSeconds: 10})
    const [session] = await storedSessions(first)
    expect(session!.kind).toBe(path === 'login' ? 'oauth' : 'provisioning')

    // The CLI's clock moves; the stored expiry is one second ago by that clock.
    h.advance(OFFSET_MS[offset] / 1000)
    await (await first.sessions()).save({...session!, expires_at: new Date(h.deps.now().getTime() - 1000).toISOString()})
    const counters = () => h.mock.control.snapshot().counters
    const refreshes = () => (path === 'login' ? counters().grants.refresh_token : counters().provisioning.token_requests.refresh_token)
    const before = refreshes()

    const everyone = await Promise.all(Array.from({length: processes}, () => anotherProcess()))
    const results = await Promise.allSettled(everyone.map((deps) => token(deps, {minValidSeconds: 60})))
    const failures = results.filter((result) => result.status === 'rejected')
    expect(failures).toEqual([])
    const tokens = new Set(results.map((result) => (result as PromiseFulfilledResult<{access_token: string}>).value.access_token))
    expect(tokens.size).toBe(1)
    expect([...tokens][0]).not.toBe(session!.access_token)
    expect(refreshes() - before).toBe(1)
  }, 120_000)
})
