/**
 * Issue 17 item 5: `onramp token` on the keychain reads its session's entry (and parts) out of one
 * readAll (every onramp entry at once, off the main thread) instead of one connection per entry. When
 * that read cannot tell, the entry-by-entry read decides as before: locked keyring, lost race, parts cap.
 */
import fs from 'node:fs'

import {describe, expect, it, vi} from 'vitest'

import {KeychainUnavailableError, withDeadlines, type SecretBackend} from '../../../../src/session/keychain/backend.js'
import {byAccount} from '../../../../src/session/keychain/native.js'
import {MAX_ENTRY_CHARS, MAX_PARTS} from '../../../../src/session/keychain/parts.js'
import {platformPackage} from '../../../../src/session/keychain/addon.js'
import {openSessionStore} from '../../../../src/session/open-store.js'
import {sessionKey, type Session} from '../../../../src/session/session.js'
import {fakeBackend, KEYCHAIN_TEST_SESSION as SESSION, type FakeBackend} from '../../../support/keyring.js'
import {pathsPerTest} from '../../../support/lifecycle.js'

const paths = pathsPerTest()

/** The fake keychain with readAll: a copy of every entry, or `readAllFails` / `readAllHangs`. */
type ReadAllBackend = FakeBackend & {readAll(): Promise<ReadonlyMap<string, string>>; readAllFails?: string; readAllHangs?: boolean; snapshot?: (entries: Map<string, string>) => void}
function readAllBackend(): ReadAllBackend {
  const backend = fakeBackend() as ReadAllBackend
  backend.readAll = async () => {
    backend.calls.push('readAll')
    if (backend.readAllHangs) return new Promise<never>(() => {})
    if (backend.readAllFails) throw new KeychainUnavailableError(backend.readAllFails)
    const copy = new Map(backend.entries)
    backend.snapshot?.(copy)
    return copy
  }
  return backend
}

async function storeWith(backend: SecretBackend, session: Session = SESSION) {
  const store = await openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths: paths(), warn: vi.fn(), backend})
  await store.save(session)
  return store
}

describe('the keychain store reading a session for token', () => {
  it('reads it with one readAll and no entry-by-entry read', async () => {
    const backend = readAllBackend()
    const store = await storeWith(backend)
    backend.calls.length = 0
    const [info] = await store.list()
    await expect(store.get(info!)).resolves.toEqual(SESSION)
    expect(backend.calls).toEqual(['readAll'])
  })

  it('a session split into parts: joined from the same readAll', async () => {
    const backend = readAllBackend()
    const long = {...SESSION, access_token: `eyJ${'x'.repeat(MAX_ENTRY_CHARS * 3)}`}
    const store = await storeWith(backend, long)
    expect([...backend.entries.keys()].filter((key) => key.includes('#part:')).length).toBeGreaterThan(2)
    backend.calls.length = 0
    await expect(store.get(long)).resolves.toEqual(long)
    expect(backend.calls).toEqual(['readAll'])
  })

  it('a part missing from the readAll (a writer replaced the value meanwhile): read again entry by entry', async () => {
    const backend = readAllBackend()
    const long = {...SESSION, access_token: `eyJ${'y'.repeat(MAX_ENTRY_CHARS * 2)}`}
    const store = await storeWith(backend, long)
    backend.snapshot = (entries) => entries.delete([...entries.keys()].find((key) => key.endsWith(':1'))!)
    backend.calls.length = 0
    await expect(store.get(long)).resolves.toEqual(long)
    expect(backend.calls[0]).toBe('readAll')
    expect(backend.calls.slice(1).every((call) => call.startsWith('get '))).toBe(true)
  })

  it('an entry claiming more parts than onramp writes is refused from the readAll too', async () => {
    const backend = readAllBackend()
    const store = await storeWith(backend)
    backend.entries.set(sessionKey(SESSION), `onramp-parts:v1:abc123:${MAX_PARTS + 1}`)
    backend.calls.length = 0
    await expect(store.get(SESSION)).rejects.toMatchObject({code: 'keychain_entry_corrupt'})
    expect(backend.calls).toEqual(['readAll'])
  })

  it('a locked keyring (readAll fails, entries read as missing, writes refused): unavailable, exit 7, never "not logged in"', async () => {
    const backend = readAllBackend()
    await storeWith(backend)
    backend.locked = true
    backend.readAllFails = 'Secret Service failed (read): object locked'
    const store = await openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths: paths(), warn: vi.fn(), backend}) // a new process's store
    const error = await store.get(SESSION).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(KeychainUnavailableError)
    expect((error as KeychainUnavailableError).exit).toBe(7)
    expect(backend.calls).toContain(`get ${sessionKey(SESSION)}`) // decided by the entry-by-entry read and its probe
  })

  it('an entry removed outside onramp: readAll lacks it, the entry-by-entry read confirms, "run onramp login"', async () => {
    const backend = readAllBackend()
    const store = await storeWith(backend)
    backend.entries.clear()
    await expect(store.get(SESSION)).rejects.toMatchObject({code: 'not_logged_in', message: expect.stringMatching(/removed outside onramp/)})
  })

  it('a readAll cut at its deadline is not made again, nor followed by a second wait entry by entry', async () => {
    const backend = readAllBackend()
    await storeWith(backend)
    backend.readAllHangs = true
    backend.calls.length = 0
    const timed = await openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths: paths(), warn: vi.fn(), backend: withDeadlines(backend, {timeoutMs: 150})})
    const error = await timed.get(SESSION).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(KeychainUnavailableError)
    expect((error as Error).message).toMatch(/did not answer within/)
    expect(backend.calls).toEqual(['readAll'])
  })

  it('replace (a refresh) compares what the keychain holds now, entry by entry, never a readAll', async () => {
    const backend = readAllBackend()
    const store = await storeWith(backend)
    backend.calls.length = 0
    await expect(store.replace!({...SESSION, access_token: 'pha_new', refresh_token: 'phr_new'}, {ifRefreshToken: SESSION.refresh_token})).resolves.toBe('saved')
    expect(backend.calls).not.toContain('readAll')
    await expect(store.get(SESSION)).resolves.toMatchObject({access_token: 'pha_new', refresh_token: 'phr_new'})
  })
})

describe('byAccount', () => {
  it('maps accounts to values and leaves out an account held by two entries (the entry read reports it as ambiguous)', () => {
    const found = [
      {account: 'a', password: '1'},
      {account: 'b', password: '2'},
      {account: 'a', password: '3'},
    ]
    expect([...byAccount(found)]).toEqual([['b', '2']])
  })
})

describe('platformPackage', () => {
  it('names the glibc platform package on Linux x64 and arm64 only, and defers to the loader when NAPI_RS_NATIVE_LIBRARY_PATH is set', () => {
    const glibc = !fs.existsSync('/usr/bin/ldd') || !fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
    if (fs.existsSync('/usr/bin/ldd') && glibc) {
      expect(platformPackage({}, 'linux', 'x64')).toBe('@napi-rs/keyring-linux-x64-gnu')
      expect(platformPackage({}, 'linux', 'arm64')).toBe('@napi-rs/keyring-linux-arm64-gnu')
    }
    expect(platformPackage({}, 'linux', 'ia32')).toBeUndefined()
    expect(platformPackage({}, 'darwin', 'arm64')).toBeUndefined()
    expect(platformPackage({}, 'win32', 'x64')).toBeUndefined()
    expect(platformPackage({NAPI_RS_NATIVE_LIBRARY_PATH: '/opt/keyring.node'}, 'linux', 'x64')).toBeUndefined()
  })
})
