import {describe, expect, it} from 'vitest'

import {expiresAt} from '../../../src/session/session.js'

const NOW = new Date('2026-11-23T12:00:00.000Z')
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000

describe('expiresAt with out-of-range expires_in', () => {
  it('turns an ordinary expires_in into the expiry time', () => {
    expect(expiresAt(NOW, 3600)).toBe('2026-11-23T13:00:00.000Z')
    expect(expiresAt(NOW, undefined)).toBeNull()
  })

  it('clamps a huge expires_in to ten years instead of crashing on an invalid date', () => {
    for (const huge of [1e300, Number.MAX_SAFE_INTEGER, 9e15]) {
      expect(Date.parse(expiresAt(NOW, huge)!)).toBe(NOW.getTime() + TEN_YEARS_MS)
    }
  })

  it('treats a negative expires_in as already expired, and a non-number as unknown', () => {
    expect(expiresAt(NOW, -5)).toBe(NOW.toISOString())
    expect(expiresAt(NOW, Number.NaN)).toBeNull()
    expect(expiresAt(NOW, Number.POSITIVE_INFINITY)).toBeNull()
    expect(expiresAt(NOW, '3600' as unknown as number)).toBeNull()
  })
})
