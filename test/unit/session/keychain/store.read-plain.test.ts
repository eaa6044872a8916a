/**
 * Issue 17 item 5: on Linux `onramp token` reads its session first through the plain Secret Service read
 * (backend.readPlain: no addon, no key exchange). When that read cannot decide, the reads that ran before
 * it run unchanged (readAll, then entry by entry); only its deadline is an error of its own.
 */
import {describe, expect, it, vi} from 'vitest'

import {KeychainUnavailableError, withDeadlines, type SecretBackend} from '../../../../src/session/keychain/backend.js'
import {silentBus} from '../../../../src/session/keychain/dbus.js'
import {MAX_ENTRY_CHARS, partAccounts} from '../../../../src/session/keychain/parts.js'
import {openSessionStore} from '../../../../src/session/open-store.js'
import {sessionKey, type Session} from '../../../../src/session/session.js'
import {fakeBackend, KEYCHAIN_TEST_SESSION as SESSION, type FakeBackend} from '../../../support/keyring.js'
import {pathsPerTest} from '../../../support/lifecycle.js'

const paths = pathsPerTest()

/** The fake keychain with readPlain (the entry and its parts, or undecided when one is missing or `undecided`) and readAll. */
type PlainBackend = FakeBackend & Required<Pick<SecretBackend, 'readAll' | 'readPlain'>> & {undecided?: boolean; silent?: boolean}
function plainBackend(): PlainBackend {
  const backend = fakeBackend() as PlainBackend
  backend.readPlain = async (account) => {
    backend.calls.push(`readPlain ${account}`)
    if (backend.silent) throw silentBus('unix:path=/run/bus', 1000)
    const value = backend.entries.get(account)
    if (backend.undecided || backend.locked || value === undefined) return undefined
    const parts = partAccounts(account, value)
    if (parts.some((part) => !backend.entries.has(part))) return undefined
    return new Map([[account, value], ...parts.map((part): [string, string] => [part, backend.entries.get(part)!])])
  }
  backend.readAll = async () => {
    backend.calls.push('readAll')
    if (backend.locked) throw new KeychainUnavailableError('Secret Service failed (read): object locked')
    return new Map(backend.entries)
  }
  return backend
}

async function storeWith(backend: SecretBackend, session: Session = SESSION) {
  const store = await openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths: paths(), warn: vi.fn(), backend})
  await store.save(session)
  return store
}

describe('the keychain store reading a session for token through the plain read', () => {
  it('one plain read and nothing else: no readAll, no entry read (so no addon loads)', async () => {
    const backend = plainBackend()
    const store = await storeWith(backend)
    backend.calls.length = 0
    await expect(store.get(SESSION)).resolves.toEqual(SESSION)
    expect(backend.calls).toEqual([`readPlain ${sessionKey(SESSION)}`])
  })

  it('a session split into parts: joined from the one plain read', async () => {
    const backend = plainBackend()
    const long = {...SESSION, access_token: `eyJ${'x'.repeat(MAX_ENTRY_CHARS * 3)}`}
    const store = await storeWith(backend, long)
    backend.calls.length = 0
    await expect(store.get(long)).resolves.toEqual(long)
    expect(backend.calls).toEqual([`readPlain ${sessionKey(long)}`])
  })

  it('undecided: readAll reads as before', async () => {
    const backend = plainBackend()
    const store = await storeWith(backend)
    backend.undecided = true
    backend.calls.length = 0
    await expect(store.get(SESSION)).resolves.toEqual(SESSION)
    expect(backend.calls).toEqual([`readPlain ${sessionKey(SESSION)}`, 'readAll'])
  })

  it('a locked keyring (undecided, readAll failing, entries read as missing): today\'s exit 7 from the entry-by-entry read', async () => {
    const backend = plainBackend()
    await storeWith(backend)
    backend.locked = true
    const store = await openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths: paths(), warn: vi.fn(), backend})
    backend.calls.length = 0
    const error = await store.get(SESSION).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(KeychainUnavailableError)
    expect((error as KeychainUnavailableError).exit).toBe(7)
    expect(backend.calls.slice(0, 2)).toEqual([`readPlain ${sessionKey(SESSION)}`, 'readAll'])
    expect(backend.calls).toContain(`get ${sessionKey(SESSION)}`)
  })

  it('a bus silent until the deadline: the bus check\'s exit 7, and no other read is started', async () => {
    const backend = plainBackend()
    const store = await storeWith(backend)
    backend.silent = true
    backend.calls.length = 0
    const error = await store.get(SESSION).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(KeychainUnavailableError)
    expect((error as Error).message).toMatch(/session bus at unix:path=\/run\/bus did not answer within 1 s/)
    expect(backend.calls).toEqual([`readPlain ${sessionKey(SESSION)}`])
  })

  it('withDeadlines passes the plain read through (it keeps its own deadline); replace never uses it', async () => {
    const backend = plainBackend()
    const store = await storeWith(withDeadlines(backend, {timeoutMs: 5000}))
    backend.calls.length = 0
    await expect(store.get(SESSION)).resolves.toEqual(SESSION)
    expect(backend.calls).toEqual([`readPlain ${sessionKey(SESSION)}`])
    backend.calls.length = 0
    await expect(store.replace!({...SESSION, access_token: 'pha_new'}, {ifRefreshToken: SESSION.refresh_token})).resolves.toBe('saved')
    expect(backend.calls.some((call) => call.startsWith('readPlain'))).toBe(false)
  })
})
