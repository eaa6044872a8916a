import {createHash} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import {createPkce} from '../../../src/oauth/pkce.js'

describe('createPkce (RFC 7636, S256), the one PKCE maker for login and signup', () => {
  it('makes a 43-character base64url verifier and its S256 challenge', () => {
    const {verifier, challenge} = createPkce()
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(challenge).toBe(createHash('sha256').update(verifier, 'ascii').digest('base64url'))
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('never repeats a verifier', () => {
    const verifiers = new Set(Array.from({length: 50}, () => createPkce().verifier))
    expect(verifiers.size).toBe(50)
  })
})
