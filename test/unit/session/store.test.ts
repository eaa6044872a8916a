import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {OnrampError} from '../../../src/errors.js'
import {resolvePaths, type Paths} from '../../../src/paths.js'
import {
  envToken,
  openSessionStore,
  storageMode,
  type KeychainOpener,
  type SessionStore,
} from '../../../src/session/store.js'

let home: string
let paths: Paths
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-select-'))
  paths = resolvePaths({HOME: home})
})
afterEach(() => fs.rmSync(home, {recursive: true, force: true}))

async function failure(promise: Promise<unknown>): Promise<OnrampError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(OnrampError)
  return error as OnrampError
}

const fakeKeychain = (): SessionStore => ({
  kind: 'keychain',
  location: 'OS keychain (service onramp)',
  list: async () => [],
  get: async () => undefined,
  save: async () => undefined,
  delete: async () => false,
})

describe('openSessionStore', () => {
  it('ONRAMP_STORAGE=file -> the credentials file in the config dir', async () => {
    const warn = vi.fn()
    const store = await openSessionStore({env: {ONRAMP_STORAGE: 'file'}, paths, warn})
    expect(store.kind).toBe('file')
    expect(store.location).toBe(path.join(paths.config, 'credentials.json'))
    expect(warn).not.toHaveBeenCalled()
  })

  it('auto (the default) -> the file, silently, while no keychain backend is built in', async () => {
    for (const env of [{}, {ONRAMP_STORAGE: 'auto'}, {ONRAMP_STORAGE: ''}]) {
      const warn = vi.fn()
      const store = await openSessionStore({env, paths, warn})
      expect(store.kind).toBe('file')
      expect(warn).not.toHaveBeenCalled()
    }
  })

  it('keychain -> exit 7 naming the alternatives, while no keychain backend is built in', async () => {
    const error = await failure(openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths, warn: vi.fn()}))
    expect(error.exit).toBe(7)
    expect(error.code).toBe('storage_unavailable')
    expect(error.message).toContain('ONRAMP_STORAGE=file')
  })

  it('an unknown value -> usage error (exit 2) naming the allowed values', async () => {
    const error = await failure(openSessionStore({env: {ONRAMP_STORAGE: 'vault'}, paths, warn: vi.fn()}))
    expect(error.exit).toBe(2)
    expect(error.message).toContain('auto, keychain, file')
    expect(() => storageMode({ONRAMP_STORAGE: 'bogus'})).toThrow(/"bogus"/)
  })

  describe('with a keychain backend plugged into the seam', () => {
    const working: KeychainOpener = async () => ({ok: true, store: fakeKeychain()})
    const broken: KeychainOpener = async () => ({ok: false, reason: 'no Secret Service on the session bus'})

    it('auto and keychain use it when it works', async () => {
      expect((await openSessionStore({env: {}, paths, warn: vi.fn(), keychain: working})).kind).toBe('keychain')
      expect((await openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths, warn: vi.fn(), keychain: working})).kind).toBe('keychain')
    })

    it('auto falls back to the file with one warning naming the reason', async () => {
      const warn = vi.fn()
      const store = await openSessionStore({env: {}, paths, warn, keychain: broken})
      expect(store.kind).toBe('file')
      expect(warn).toHaveBeenCalledTimes(1)
      expect(warn.mock.calls[0]?.[0]).toContain('no Secret Service on the session bus')
    })

    it('keychain refuses to fall back: exit 7 with the reason', async () => {
      const error = await failure(openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths, warn: vi.fn(), keychain: broken}))
      expect(error.exit).toBe(7)
      expect(error.message).toContain('no Secret Service on the session bus')
    })

    it('file never asks the keychain', async () => {
      const keychain = vi.fn(working)
      expect((await openSessionStore({env: {ONRAMP_STORAGE: 'file'}, paths, warn: vi.fn(), keychain})).kind).toBe('file')
      expect(keychain).not.toHaveBeenCalled()
    })
  })
})

describe('ONRAMP_TOKEN', () => {
  it('is used only when set and not blank', () => {
    expect(envToken({})).toBeUndefined()
    expect(envToken({ONRAMP_TOKEN: '  '})).toBeUndefined()
    expect(envToken({ONRAMP_TOKEN: ' pha_abc '})).toBe('pha_abc')
  })
})
