import {describe, expect, it} from 'vitest'

import {deleteValue, MAX_ENTRY_CHARS, MAX_PARTS, partAccounts, readValue, splitValue, valueIn, writeValue} from '../../../../src/session/keychain/parts.js'
import {fakeBackend, WINDOWS_MAX_SECRET_BYTES} from '../../../support/keyring.js'

describe('values too long for one keychain entry', () => {
  it('are split on UTF-16 code units without cutting a surrogate pair', () => {
    const value = `${'a'.repeat(MAX_ENTRY_CHARS - 1)}😀${'b'.repeat(10)}`
    const parts = splitValue(value)
    expect(parts.join('')).toBe(value)
    expect(parts[0]).toHaveLength(MAX_ENTRY_CHARS - 1)
    for (const part of parts) expect(Buffer.byteLength(part, 'utf16le')).toBeLessThanOrEqual(WINDOWS_MAX_SECRET_BYTES)
  })

  it('round-trip through a backend with the Windows cap, old parts removed on rewrite', async () => {
    const backend = fakeBackend()
    await writeValue(backend, 'acct', 'x'.repeat(3000))
    expect(backend.entries.size).toBe(4) // header + 3 parts
    await expect(readValue(backend, 'acct')).resolves.toBe('x'.repeat(3000))
    await writeValue(backend, 'acct', 'y'.repeat(2000))
    expect(backend.entries.size).toBe(3)
    await expect(readValue(backend, 'acct')).resolves.toBe('y'.repeat(2000))
  })
})

describe('a keychain entry claiming 2,000,000,000 parts (issue 19 item 6)', () => {
  const HOSTILE = 'onramp-parts:v1:abc123:2000000000'

  it('is refused when read, naming the entry and the fix, after no part reads', async () => {
    const backend = fakeBackend()
    backend.entries.set('acct', HOSTILE)
    const error = await readValue(backend, 'acct').catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 1, code: 'keychain_entry_corrupt'})
    expect((error as Error).message).toMatch(/claims 2000000000 parts, more than onramp ever writes \(64\).*onramp logout/)
    expect(backend.calls).toHaveLength(1)
  })

  it('is deleted (logout) and overwritten (signup, login) touching at most MAX_PARTS parts, instead of hanging', async () => {
    const backend = fakeBackend()
    backend.entries.set('acct', HOSTILE)
    await expect(deleteValue(backend, 'acct')).resolves.toBe(true)
    expect(backend.entries.has('acct')).toBe(false)
    expect(backend.calls.length).toBeLessThanOrEqual(MAX_PARTS + 2)

    backend.entries.set('acct', HOSTILE)
    backend.calls.length = 0
    await writeValue(backend, 'acct', 'x'.repeat(3000))
    await expect(readValue(backend, 'acct')).resolves.toBe('x'.repeat(3000))
    expect(backend.calls.length).toBeLessThanOrEqual(MAX_PARTS + 10)
  })
})

describe('partAccounts (what the plain read fetches after a header)', () => {
  it('names a header\'s parts in order; none for a plain value or a header over MAX_PARTS (whose value valueIn refuses)', () => {
    expect(partAccounts('acct', 'onramp-parts:v1:ab12:3')).toEqual(['acct#part:ab12:0', 'acct#part:ab12:1', 'acct#part:ab12:2'])
    expect(partAccounts('acct', '{"access_token":"onramp-parts:v1:ab12:3"}')).toEqual([])
    const tooMany = `onramp-parts:v1:ab12:${MAX_PARTS + 1}`
    expect(partAccounts('acct', tooMany)).toEqual([])
    expect(() => valueIn(new Map([['acct', tooMany]]), 'acct')).toThrow(/claims 65 parts/)
  })
})
