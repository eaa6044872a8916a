import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createFileStore} from '../../../src/session/file-store.js'
import type {SessionStore} from '../../../src/session/store.js'
import {assertStoreUsable} from '../../../src/session/usable.js'

let home: string
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-usable-'))
})
afterEach(() => fs.rmSync(home, {recursive: true, force: true}))

describe('assertStoreUsable (what login calls before the browser opens)', () => {
  it('passes for a usable file store', async () => {
    await expect(assertStoreUsable(createFileStore({path: path.join(home, 'onramp', 'credentials.json')}) as unknown as SessionStore)).resolves.toBeUndefined()
  })

  it('stops on a corrupt credentials file, naming it', async () => {
    const file = path.join(home, 'onramp', 'credentials.json')
    fs.mkdirSync(path.dirname(file), {mode: 0o700})
    fs.writeFileSync(file, 'not json', {mode: 0o600})
    await expect(assertStoreUsable(createFileStore({path: file}) as unknown as SessionStore)).rejects.toMatchObject({code: 'credentials_corrupt', message: expect.stringContaining(file)})
  })

  it('at least reads a backend that has no write check', async () => {
    const unreadable: SessionStore = {
      kind: 'keychain',
      location: 'test',
      describe: () => ({kind: 'keychain', location: 'test'}),
      list: async () => Promise.reject(new Error('keychain locked')),
      get: async () => undefined,
      save: async () => ({storage: {kind: 'keychain', location: 'test'}, moved_from: null}),
      delete: async () => false,
    }
    await expect(assertStoreUsable(unreadable)).rejects.toThrow('keychain locked')
  })
})
