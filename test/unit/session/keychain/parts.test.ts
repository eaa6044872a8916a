import {describe, expect, it} from 'vitest'

import {MAX_ENTRY_CHARS, readValue, splitValue, writeValue} from '../../../../src/session/keychain/parts.js'
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
