import {afterEach, describe, expect, it} from 'vitest'

import {forgetSecrets, REDACTED, redact, redactValue, rememberSecret} from '../../src/redact.js'
import {parseSession} from '../../src/session/session.js'
import {envToken} from '../../src/session/env-token.js'

// Real-looking values: 44 characters after the prefix, like PostHog's.
const BODY = 'Zk3q9XvB2mN7pL0sR4tY8wA1cE5gH6jK9oQ2uV3xZ7bD'
const PHA = `pha_${BODY}`
const PHR = `phr_${BODY}`
const PHX = `phx_${BODY}`
const PHS = `phs_${BODY}`
const PHC = `phc_${BODY}`
const JWT =
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwiZW1haWwiOiJhZGFAZXhhbXBsZS5jb20ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'

describe('redact', () => {
  it('has the right fixture length', () => {
    expect(BODY).toHaveLength(44)
  })

  it.each([PHA, PHR, PHX, PHS, PHC])('hides %s but keeps its prefix', (token) => {
    const out = redact(`token is ${token}, done`)
    expect(out).toBe(`token is ${token.slice(0, 4)}${REDACTED}, done`)
    expect(out).not.toContain(BODY)
  })

  it('leaves short or unrelated prefixed words alone', () => {
    expect(redact('pha_short and alpha_Zk3q9XvB2mN7 and php_Zk3q9XvB2mN7')).toBe('pha_short and alpha_Zk3q9XvB2mN7 and php_Zk3q9XvB2mN7')
  })

  it('hides Bearer credentials', () => {
    expect(redact(`authorization: Bearer ${BODY}`)).toBe(`authorization: Bearer ${REDACTED}`)
    expect(redact(`Authorization: bearer ${PHX}`)).not.toContain(BODY)
  })

  it('hides JWTs', () => {
    const out = redact(`id_token_from_somewhere ${JWT} end`)
    expect(out).toBe(`id_token_from_somewhere ${REDACTED} end`)
  })

  it('hides token fields in JSON, keeping the field name', () => {
    const body = JSON.stringify({access_token: 'opaque-a1b2c3', refresh_token: 'opaque-r1', token_type: 'Bearer', expires_in: 3600, scope: 'user:read'})
    const out = redact(body)
    expect(JSON.parse(out)).toEqual({access_token: REDACTED, refresh_token: REDACTED, token_type: 'Bearer', expires_in: 3600, scope: 'user:read'})
  })

  it('hides every secret field name in JSON with spaces and escaped quotes', () => {
    for (const field of ['access_token', 'refresh_token', 'id_token', 'code', 'code_verifier', 'client_secret', 'token', 'password']) {
      const out = redact(`{"${field}" : "se\\"cret-${BODY}", "other": "kept"}`)
      expect(out, field).toBe(`{"${field}" : "${REDACTED}", "other": "kept"}`)
    }
  })

  it('hides token fields in JSON embedded in a JSON string', () => {
    const outer = JSON.stringify({message: JSON.stringify({client_secret: 'hunter2-secret'})})
    const out = redact(outer)
    expect(out).not.toContain('hunter2-secret')
    expect((JSON.parse(JSON.parse(out).message) as {client_secret: string}).client_secret).toBe(REDACTED)
  })

  it('hides form and query fields, not look-alike names', () => {
    const form = `grant_type=authorization_code&code=AbC123xyz&code_verifier=${BODY}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback`
    expect(redact(form)).toBe(`grant_type=authorization_code&code=${REDACTED}&code_verifier=${REDACTED}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback`)
    expect(redact(`https://h/callback?code=AbC123&state=s1&iss=x`)).toBe(`https://h/callback?code=${REDACTED}&state=s1&iss=x`)
    expect(redact('error_code=invalid_scope barcode=123 token=abc password=hunter2')).toBe(
      `error_code=invalid_scope barcode=123 token=${REDACTED} password=${REDACTED}`,
    )
  })

  it('leaves ordinary text unchanged', () => {
    const text = 'https://us.posthog.com does not advertise scopes: user:read, project:read (login). Run onramp login.'
    expect(redact(text)).toBe(text)
  })
})

describe('redactValue', () => {
  it('replaces values of secret keys at any depth and redacts strings, without touching the input', () => {
    const input = {
      issuer: 'https://us.posthog.com',
      tokens: {access_token: PHA, refresh_token: PHR, expires_in: 3600, Password: 42},
      list: [{id_token: JWT}, `Bearer ${BODY}`],
      note: `got ${PHX}`,
      nothing: null,
    }
    const before = structuredClone(input)
    expect(redactValue(input)).toEqual({
      issuer: 'https://us.posthog.com',
      tokens: {access_token: REDACTED, refresh_token: REDACTED, expires_in: 3600, Password: REDACTED},
      list: [{id_token: REDACTED}, `Bearer ${REDACTED}`],
      note: `got phx_${REDACTED}`,
      nothing: null,
    })
    expect(input).toEqual(before)
  })

  it('keeps null/undefined secret fields as they are (absence is not a secret)', () => {
    expect(redactValue({refresh_token: null, code: undefined})).toEqual({refresh_token: null, code: undefined})
  })

  it('handles primitives, errors, dates and cycles', () => {
    expect(redactValue(PHS)).toBe(`phs_${REDACTED}`)
    expect(redactValue(7)).toBe(7)
    expect(redactValue(new Error(`bad ${PHA}`))).toEqual({name: 'Error', message: `bad pha_${REDACTED}`})
    expect(redactValue(new Date('2030-01-01T00:00:00Z'))).toBe('2030-01-01T00:00:00.000Z')
    const cyclic: Record<string, unknown> = {a: 1}
    cyclic.self = cyclic
    expect(redactValue(cyclic)).toEqual({a: 1, self: '[Circular]'})
    const shared = {x: 1}
    expect(redactValue({one: shared, two: shared})).toEqual({one: {x: 1}, two: {x: 1}})
  })
})

describe('redact: the literal tokens this process holds', () => {
  afterEach(() => forgetSecrets())

  it('hides a remembered opaque value wherever it appears, whatever its shape', () => {
    const opaque = 'Rt.8f3k-22~opaque/refresh+value'
    expect(redact(`refresh token ${opaque} was revoked`)).toContain(opaque)
    rememberSecret(opaque)
    expect(redact(`refresh token ${opaque} was revoked`)).toBe(`refresh token ${REDACTED} was revoked`)
    expect(redact(`?hint=${encodeURIComponent(opaque)}`)).not.toContain(encodeURIComponent(opaque))
    expect(redactValue({message: `quoted "${opaque}"`, nested: [opaque]})).toEqual({message: `quoted "${REDACTED}"`, nested: [REDACTED]})
    expect(JSON.stringify(redactValue(new Error(`bad ${opaque}`)))).not.toContain(opaque)
  })

  it('ignores values too short to be tokens, so ordinary words survive', () => {
    rememberSecret('abc')
    rememberSecret(undefined)
    rememberSecret(null)
    expect(redact('abc abc')).toBe('abc abc')
  })

  it('hides tokens of sessions read from a store and ONRAMP_TOKEN once they are read', () => {
    const refresh = 'opaque-refresh-0123456789'
    parseSession({
      issuer: 'https://h.test', client_id: 'c', region: null, access_token: 'opaque-access-0123456789', refresh_token: refresh,
      expires_at: null, scope: [], user: null, obtained_at: '2026-01-01T00:00:00Z',
    })
    envToken({ONRAMP_TOKEN: 'env-token-0123456789'})
    expect(redact(`${refresh} opaque-access-0123456789 env-token-0123456789`)).toBe(`${REDACTED} ${REDACTED} ${REDACTED}`)
  })
})
