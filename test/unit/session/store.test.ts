import fs from 'node:fs'
import path from 'node:path'

import {describe, expect, it, vi} from 'vitest'

import {OnrampError} from '../../../src/errors.js'
import {withDeadlines, type SecretBackend} from '../../../src/session/keychain/backend.js'
import {sessionKey, type Session} from '../../../src/session/session.js'
import {envToken} from '../../../src/session/env-token.js'
import {openSessionStore} from '../../../src/session/open-store.js'
import {storageMode} from '../../../src/session/store.js'
import {fakeBackend, WINDOWS_MAX_SECRET_BYTES, type FakeBackend} from '../../support/keyring.js'
import {pathsPerTest} from '../../support/lifecycle.js'

const paths = pathsPerTest()

function session(issuer: string): Session {
  return {
    issuer, client_id: 'client', region: 'us', access_token: `pha_${issuer.length}access`, refresh_token: 'phr_refresh',
    expires_at: '2030-01-01T00:00:00.000Z', scope: ['user:read'], user: {email: 'dev@example.com'}, obtained_at: '2026-01-01T00:00:00.000Z',
  kind: 'oauth',
  }
}

async function failure(promise: Promise<unknown>): Promise<OnrampError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(OnrampError)
  return error as OnrampError
}

const unavailable = (): FakeBackend => Object.assign(fakeBackend(), {failWith: 'no Secret Service on the session bus'})

describe('openSessionStore', () => {
  it('ONRAMP_STORAGE=file -> the credentials file in the config dir, keychain never asked', async () => {
    const warn = vi.fn()
    const backend = fakeBackend()
    const store = await openSessionStore({env: {ONRAMP_STORAGE: 'file'}, paths: paths(), warn, backend})
    expect(store.describe()).toEqual({kind: 'file', location: path.join(paths().config, 'credentials.json')})
    expect(store.kind).toBe('file')
    expect(warn).not.toHaveBeenCalled()
    expect(backend.calls).toEqual([])
  })

  it('auto (the default) and keychain use the keychain when a round trip works', async () => {
    for (const env of [{}, {ONRAMP_STORAGE: 'auto'}, {ONRAMP_STORAGE: ''}, {ONRAMP_STORAGE: 'keychain'}]) {
      const warn = vi.fn()
      const backend = fakeBackend()
      const store = await openSessionStore({env, paths: paths(), warn, backend, probe: true})
      expect(store.describe()).toEqual({kind: 'keychain', location: 'Fake Keychain (service onramp)'})
      expect(backend.calls.map((call) => call.split(' ')[0])).toEqual(['set', 'get', 'delete'])
      expect(backend.entries.size).toBe(0) // the probe cleans up after itself
      expect(warn).not.toHaveBeenCalled()
    }
  })

  it('an unknown value -> usage error (exit 2) naming the allowed values', async () => {
    const error = await failure(openSessionStore({env: {ONRAMP_STORAGE: 'vault'}, paths: paths(), warn: vi.fn(), backend: fakeBackend()}))
    expect(error.exit).toBe(2)
    expect(error.message).toContain('auto, keychain, file')
    expect(() => storageMode({ONRAMP_STORAGE: 'bogus'})).toThrow(/"bogus"/)
  })

  it('auto falls back to the file with a warning naming the reason, shown once across runs', async () => {
    const warn = vi.fn()
    const store = await openSessionStore({env: {}, paths: paths(), warn, backend: unavailable(), probe: true})
    expect(store.describe()).toEqual({kind: 'file', location: path.join(paths().config, 'credentials.json')})
    expect(warn).toHaveBeenCalledTimes(1)
    expect(warn.mock.calls[0]?.[0]).toContain('no Secret Service on the session bus')
    await store.save(session('https://us.posthog.com'))
    expect((await store.list()).map((info) => info.storage.kind)).toEqual(['file'])

    const again = vi.fn()
    await openSessionStore({env: {}, paths: paths(), warn: again, backend: unavailable(), probe: true})
    expect(again).not.toHaveBeenCalled()
    // Once the keychain works the marker goes, so a later fallback is announced again.
    await openSessionStore({env: {}, paths: paths(), warn: again, backend: fakeBackend(), probe: true})
    await openSessionStore({env: {}, paths: paths(), warn: again, backend: unavailable(), probe: true})
    expect(again).toHaveBeenCalledTimes(1)
  })

  it('keychain refuses to fall back: exit 7 with the reason, nothing written', async () => {
    const error = await failure(openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths: paths(), warn: vi.fn(), backend: unavailable(), probe: true}))
    expect(error.exit).toBe(7)
    expect(error.code).toBe('storage_unavailable')
    expect(error.message).toContain('no Secret Service on the session bus')
    expect(error.message).toContain('ONRAMP_STORAGE=file')
    expect(fs.existsSync(paths().config)).toBe(false)
  })

  it('a keychain that never answers is "unavailable" at the deadline, not a hang', async () => {
    const backend = Object.assign(fakeBackend(), {hang: true}) // never answers: only the deadline ends the call
    const error = await failure(openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths: paths(), warn: vi.fn(), backend: withDeadlines(backend, {timeoutMs: 200}), probe: true}))
    expect(error.exit).toBe(7)
    expect(error.message).toMatch(/did not answer within/)
  })
})

describe('the keychain store', () => {
  const open = (backend: SecretBackend, env: NodeJS.ProcessEnv = {ONRAMP_STORAGE: 'keychain'}, probe = true) =>
    openSessionStore({env, paths: paths(), warn: vi.fn(), backend, probe})

  it('keeps only the tokens in the keychain, one entry per session; the metadata file holds no token', async () => {
    const backend = fakeBackend()
    const store = await open(backend)
    const us = session('https://us.posthog.com')
    await expect(store.save(us)).resolves.toEqual({storage: {kind: 'keychain', location: 'Fake Keychain (service onramp)'}, moved_from: null})
    expect([...backend.entries.keys()]).toEqual([sessionKey(us)])
    expect(JSON.parse(backend.entries.get(sessionKey(us))!)).toEqual({access_token: us.access_token, refresh_token: us.refresh_token})
    const metadataFile = path.join(paths().config, 'sessions.json')
    const text = fs.readFileSync(metadataFile, 'utf8')
    expect(text).not.toContain(us.access_token)
    expect(text).not.toContain(us.refresh_token!)
    expect(JSON.parse(text).sessions[sessionKey(us)]).toMatchObject({issuer: us.issuer, scope: us.scope, secrets: 'keychain'})
    if (process.platform !== 'win32') expect(fs.statSync(metadataFile).mode & 0o777).toBe(0o600)
    expect(fs.existsSync(path.join(paths().config, 'credentials.json'))).toBe(false)
    await expect(store.get(us)).resolves.toEqual(us)
  })

  it('list() reads metadata only: it never touches the keychain', async () => {
    const backend = fakeBackend()
    await (await open(backend)).save(session('https://us.posthog.com'))
    backend.calls.length = 0
    backend.failWith = 'locked'
    const store = await open(backend, {}, false)
    const [info] = await store.list()
    expect(info).toMatchObject({issuer: 'https://us.posthog.com', storage: {kind: 'keychain'}})
    expect(info).not.toHaveProperty('access_token')
    expect(backend.calls).toEqual([])
  })

  it('splits a token too long for one Windows credential across entries, and reads it back whole', async () => {
    const backend = fakeBackend()
    const store = await open(backend)
    const long = {...session('https://us.posthog.com'), access_token: `eyJ${'a'.repeat(4000)}`}
    await store.save(long)
    for (const value of backend.entries.values()) expect(Buffer.byteLength(value, 'utf16le')).toBeLessThanOrEqual(WINDOWS_MAX_SECRET_BYTES)
    expect(backend.entries.size).toBeGreaterThan(2)
    await expect(store.get(long)).resolves.toEqual(long)
    // A shorter token replaces the parts; none are left behind.
    const short = session('https://us.posthog.com')
    await store.save(short)
    expect([...backend.entries.keys()]).toEqual([sessionKey(short)])
    await expect(store.get(short)).resolves.toEqual(short)
    await expect(store.delete(short)).resolves.toBe(true)
    expect(backend.entries.size).toBe(0)
  })

  it('a locked keychain is exit 7 on read, never "not logged in"', async () => {
    const backend = fakeBackend()
    const us = session('https://us.posthog.com')
    await (await open(backend)).save(us)
    backend.locked = true // reads now answer "no entry", like a locked Secret Service
    const store = await open(backend, {ONRAMP_STORAGE: 'auto'}, false)
    const error = await failure(store.get(us))
    expect(error.exit).toBe(7)
    expect(error.message).toMatch(/unlock prompt was dismissed/)
  })

  it('an entry removed outside onramp (keychain working) is "not logged in", naming the fix', async () => {
    const backend = fakeBackend()
    const us = session('https://us.posthog.com')
    const store = await open(backend)
    await store.save(us)
    backend.entries.clear()
    const error = await failure(store.get(us))
    expect(error.exit).toBe(3)
    expect(error.message).toMatch(/onramp login/)
  })

  it('moves a plaintext session into the keychain at its next save, says so, and removes the plaintext copy', async () => {
    const us = session('https://us.posthog.com')
    await (await openSessionStore({env: {ONRAMP_STORAGE: 'file'}, paths: paths(), warn: vi.fn()})).save(us)
    const backend = fakeBackend()
    const store = await open(backend, {})
    expect((await store.list()).map((info) => info.storage)).toEqual([{kind: 'file', location: path.join(paths().config, 'credentials.json')}])
    await expect(store.get(us)).resolves.toEqual(us) // still usable before the move
    const result = await store.save({...us, access_token: 'pha_after_login'})
    expect(result.moved_from).toEqual({kind: 'file', location: path.join(paths().config, 'credentials.json')})
    expect(fs.readFileSync(path.join(paths().config, 'credentials.json'), 'utf8')).not.toContain(us.access_token)
    expect((await store.list()).map((info) => info.storage.kind)).toEqual(['keychain'])
    await expect(store.get(us)).resolves.toMatchObject({access_token: 'pha_after_login'})
    expect((await store.save({...us, access_token: 'pha_again'})).moved_from).toBeNull()
  })

  it('delete scrubs the keychain, the metadata and the plaintext file', async () => {
    const us = session('https://us.posthog.com')
    await (await openSessionStore({env: {ONRAMP_STORAGE: 'file'}, paths: paths(), warn: vi.fn()})).save(us)
    const backend = fakeBackend()
    backend.entries.set(sessionKey(us), '{"access_token":"pha_orphan","refresh_token":null}')
    const store = await open(backend)
    await expect(store.delete(us)).resolves.toBe(true)
    expect(backend.entries.size).toBe(0)
    expect(await store.list()).toEqual([])
    await expect(store.delete(us)).resolves.toBe(false)
  })

  it('delete with the keychain unavailable changes nothing and says so (exit 7)', async () => {
    const backend = fakeBackend()
    const us = session('https://us.posthog.com')
    await (await open(backend)).save(us)
    backend.failWith = 'the Secret Service is locked'
    const store = await open(backend, {}, false)
    const error = await failure(store.delete(us))
    expect(error.exit).toBe(7)
    backend.failWith = undefined
    expect(await store.list()).toHaveLength(1)
    expect(backend.entries.size).toBe(1)
  })
})

describe('stores written before accounts were part of the key', () => {
  // The format every earlier onramp wrote: one session per server and app, keyed `issuer#client_id`.
  const LEGACY_KEY = 'https://us.posthog.com#client'
  /** The US session as an earlier onramp left it in the keychain store: metadata and keychain entry under LEGACY_KEY. */
  const legacyKeychainStore = async () => {
    const us = session('https://us.posthog.com')
    const {access_token, refresh_token, ...metadata} = us
    fs.mkdirSync(paths().config, {recursive: true, mode: 0o700})
    fs.writeFileSync(path.join(paths().config, 'sessions.json'), JSON.stringify({version: 1, sessions: {[LEGACY_KEY]: {...metadata, secrets: 'keychain'}}}), {mode: 0o600})
    const backend = fakeBackend()
    backend.entries.set(LEGACY_KEY, JSON.stringify({access_token, refresh_token}))
    const store = await openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths: paths(), warn: vi.fn(), backend})
    return {us, metadata, backend, store}
  }

  it('keychain: the old entry is listed, read, refreshed and logged out in place, and moves to its new key at the next save', async () => {
    const {us, metadata, backend, store} = await legacyKeychainStore()

    expect(await store.list()).toEqual([{...metadata, storage: {kind: 'keychain', location: 'Fake Keychain (service onramp)'}}])
    await expect(store.get(us)).resolves.toEqual(us)
    // A refresh replaces the tokens where they are.
    await expect(store.replace!({...us, refresh_token: 'phr_2'}, {ifRefreshToken: 'phr_refresh'})).resolves.toBe('saved')
    expect(JSON.parse(backend.entries.get(LEGACY_KEY)!)).toMatchObject({refresh_token: 'phr_2'})
    // Another account's login is stored beside it, not over it.
    const other = {...us, user: {email: 'ci@example.com'}, access_token: 'pha_ci'}
    await store.save(other)
    expect((await store.list()).map((info) => info.user?.email).sort()).toEqual(['ci@example.com', 'dev@example.com'])
    // Its own next save moves it: one entry under the new key, the old one gone from the keychain and the file.
    await store.save({...us, refresh_token: 'phr_3'})
    expect([...backend.entries.keys()].sort()).toEqual([sessionKey(other), sessionKey(us)].sort())
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(paths().config, 'sessions.json'), 'utf8')).sessions).sort()).toEqual([sessionKey(other), sessionKey(us)].sort())
    await expect(store.get(us)).resolves.toMatchObject({refresh_token: 'phr_3'})
  })

  it('keychain: logout of a session still under its old key removes it from both places', async () => {
    const {us, backend, store} = await legacyKeychainStore()
    await expect(store.delete(us)).resolves.toBe(true)
    expect(backend.entries.has(LEGACY_KEY)).toBe(false)
    expect(await store.list()).toEqual([])
  })

  it('file: an old credentials.json keeps working and its session moves to the new key at the next save', async () => {
    const us = session('https://us.posthog.com')
    const file = path.join(paths().config, 'credentials.json')
    fs.mkdirSync(paths().config, {recursive: true, mode: 0o700})
    fs.writeFileSync(file, JSON.stringify({version: 1, sessions: {[LEGACY_KEY]: us}}), {mode: 0o600})
    const store = await openSessionStore({env: {ONRAMP_STORAGE: 'file'}, paths: paths(), warn: vi.fn()})
    await expect(store.get(us)).resolves.toEqual(us)
    await expect(store.replace!({...us, refresh_token: 'phr_2'}, {ifRefreshToken: 'phr_refresh'})).resolves.toBe('saved')
    await store.save({...us, kind: 'provisioning', access_token: 'pha_signup'}) // the signup session of the same account: beside it
    expect(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).sessions).sort()).toEqual([sessionKey(us), sessionKey({...us, kind: 'provisioning'})].sort())
    expect((await store.list()).map((info) => info.kind).sort()).toEqual(['oauth', 'provisioning'])
    await expect(store.get(us)).resolves.toMatchObject({refresh_token: 'phr_2'})
    await expect(store.delete(us)).resolves.toBe(true)
    expect((await store.list()).map((info) => info.kind)).toEqual(['provisioning'])
  })
})

describe('ONRAMP_TOKEN', () => {
  it('is used only when set and not blank', () => {
    expect(envToken({})).toBeUndefined()
    expect(envToken({ONRAMP_TOKEN: '  '})).toBeUndefined()
    expect(envToken({ONRAMP_TOKEN: ' pha_abc '})).toBe('pha_abc')
  })
})

describe('the keychain store never lets a refresh resurrect or overwrite a session (replace)', () => {
  it('saves only while the stored refresh token is the one the refresh spent; a newer login wins; a logout stays a logout', async () => {
    const store = await openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths: paths(), warn: vi.fn(), backend: fakeBackend()})
    const first = session('https://h.example')
    await store.save(first)
    const refreshed = {...first, access_token: 'pha_refreshed', refresh_token: 'phr_rotated'}
    await expect(store.replace!(refreshed, {ifRefreshToken: 'phr_refresh'})).resolves.toBe('saved')
    await expect(store.get(first)).resolves.toMatchObject({access_token: 'pha_refreshed', refresh_token: 'phr_rotated'})

    // A newer login saved another pair: the late refresh result is discarded.
    await store.save({...first, access_token: 'pha_newer', refresh_token: 'phr_newer'})
    await expect(store.replace!(refreshed, {ifRefreshToken: 'phr_rotated'})).resolves.toBe('changed')
    await expect(store.get(first)).resolves.toMatchObject({access_token: 'pha_newer'})

    // Logged out: the refresh result does not bring the session back.
    await store.delete(first)
    await expect(store.replace!(refreshed, {ifRefreshToken: 'phr_newer'})).resolves.toBe('missing')
    await expect(store.get(first)).resolves.toBeUndefined()
    await expect(store.list()).resolves.toEqual([])
  })
})
