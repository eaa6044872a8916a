import {describe, expect, it} from 'vitest'

import {StorageUnavailableError} from '../../../src/errors.js'
import {NewerFormatError, newStoreKey, seal, sealFormat, storeKeyFrom, unseal, WrongKeyError} from '../../../src/session/seal.js'

const key = () => storeKeyFrom({ONRAMP_STORE_KEY: newStoreKey()})

describe('sealing with ONRAMP_STORE_KEY', () => {
  it('a new store key is 32 random bytes in base64, different every time', () => {
    const one = newStoreKey()
    expect(Buffer.from(one, 'base64')).toHaveLength(32)
    expect(one).toHaveLength(44)
    expect(newStoreKey()).not.toBe(one)
  })

  it('opens what it sealed with the same key and associated data, and hides the plaintext', () => {
    const k = key()
    const sealed = seal(k, '{"access_token":"pha_secret"}', 'id v1')
    expect(sealed).not.toContain('pha_')
    expect(sealed.startsWith('onramp.1.')).toBe(true)
    expect(unseal(k, sealed, 'id v1', 'the value')).toBe('{"access_token":"pha_secret"}')
  })

  it('refuses another key, other associated data (a moved or replayed value) and any altered byte', () => {
    const k = key()
    const sealed = seal(k, 'secret', 'id v1')
    expect(() => unseal(key(), sealed, 'id v1', 'the value')).toThrow(WrongKeyError)
    expect(() => unseal(k, sealed, 'id v2', 'the value')).toThrow(WrongKeyError)
    const parts = sealed.split('.')
    parts[3] = Buffer.from('tampered').toString('base64url')
    expect(() => unseal(k, parts.join('.'), 'id v1', 'the value')).toThrow(WrongKeyError)
  })

  it('a wrong key names ONRAMP_STORE_KEY and exits 7', () => {
    const sealed = seal(key(), 'secret', 'aad')
    const error = (() => {
      try {
        unseal(key(), sealed, 'aad', 'the value')
      } catch (caught) {
        return caught as StorageUnavailableError
      }
    })()
    expect(error?.exit).toBe(7)
    expect(error?.message).toContain('ONRAMP_STORE_KEY')
  })

  it('refuses a value sealed by a newer onramp, naming its format', () => {
    const sealed = seal(key(), 'secret', 'aad').replace(/^onramp\.1\./, 'onramp.2.')
    expect(sealFormat(sealed)).toBe(2)
    expect(() => unseal(key(), sealed, 'aad', 'the value')).toThrow(NewerFormatError)
    expect(() => unseal(key(), sealed, 'aad', 'the value')).toThrow(/newer onramp \(sealed format 2/)
  })

  it('a missing or malformed ONRAMP_STORE_KEY is exit 7 naming the variable', () => {
    for (const env of [{}, {ONRAMP_STORE_KEY: ' '}, {ONRAMP_STORE_KEY: 'not base64!'}, {ONRAMP_STORE_KEY: Buffer.alloc(16).toString('base64')}]) {
      expect(() => storeKeyFrom(env)).toThrow(StorageUnavailableError)
      try {
        storeKeyFrom(env)
      } catch (error) {
        expect((error as StorageUnavailableError).exit).toBe(7)
        expect((error as Error).message).toContain('ONRAMP_STORE_KEY')
      }
    }
  })

  it('reads a key in base64url as well as base64', () => {
    const raw = Buffer.alloc(32, 0xfb)
    expect(storeKeyFrom({ONRAMP_STORE_KEY: raw.toString('base64url')})).toEqual(raw)
  })
})
