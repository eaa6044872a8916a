import {describe, expect, it} from 'vitest'

import {accountOf, findStoredKey, InvalidSessionError, isExpiring, parseSession, sessionKey, type Session} from '../../../src/session/session.js'

const SESSION: Session = {
  issuer: 'https://us.posthog.com',
  client_id: 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM',
  region: 'us',
  access_token: 'pha_Zk3q9XvB2mN7pL0sR4tY8wA1cE5gH6jK9oQ2uV3xZ7bD',
  refresh_token: 'phr_Zk3q9XvB2mN7pL0sR4tY8wA1cE5gH6jK9oQ2uV3xZ7bD',
  expires_at: '2030-01-01T01:00:00.000Z',
  scope: ['user:read', 'project:read'],
  user: {email: 'ada@example.com', name: 'Ada'},
  obtained_at: '2030-01-01T00:00:00.000Z',
  kind: 'oauth',
}

describe('sessionKey', () => {
  it('ignores trailing slashes on the issuer', () => {
    expect(sessionKey({issuer: 'https://h.example/', client_id: 'c'})).toBe(sessionKey({issuer: 'https://h.example', client_id: 'c'}))
    expect(sessionKey({issuer: 'https://h.example/tenant//', client_id: 'c'})).toBe('https://h.example/tenant#c#oauth#')
  })

  it('separates issuer and client id', () => {
    expect(sessionKey({issuer: 'https://a', client_id: 'x'})).not.toBe(sessionKey({issuer: 'https://a', client_id: 'y'}))
    expect(sessionKey({issuer: 'https://a', client_id: 'x'})).not.toBe(sessionKey({issuer: 'https://b', client_id: 'x'}))
  })

  it('separates accounts and kinds on one server and app: a login never replaces another account or the signup session', () => {
    const base = {issuer: 'https://a', client_id: 'x'}
    const dev = sessionKey({...base, user: {email: 'dev@example.com'}})
    const ci = sessionKey({...base, user: {email: 'ci@example.com'}})
    const devSignup = sessionKey({...base, kind: 'provisioning', user: {email: 'dev@example.com'}})
    expect(new Set([dev, ci, devSignup, sessionKey(base)]).size).toBe(4)
    // One account whatever the case of its email, whatever else is known about the user.
    expect(sessionKey({...base, user: {email: 'Dev@Example.com', name: 'Dev'}})).toBe(dev)
    expect(sessionKey({...base, kind: 'oauth', user: {email: 'dev@example.com'}})).toBe(dev)
  })

  it('cannot be confused by a # in the client id or the account', () => {
    expect(sessionKey({issuer: 'https://a', client_id: 'x#oauth', user: {email: 'b@c.de'}})).not.toBe(sessionKey({issuer: 'https://a', client_id: 'x', user: {email: 'oauth#b@c.de'}}))
  })
})

describe('accountOf', () => {
  it('is the email, else the user id, else null', () => {
    expect(accountOf({user: {email: ' Ada@Example.com ', id: '1'}})).toBe('ada@example.com')
    expect(accountOf({user: {id: 'u-1'}})).toBe('u-1')
    expect(accountOf({user: null})).toBeNull()
    expect(accountOf({})).toBeNull()
  })
})

describe('findStoredKey', () => {
  it('finds the key itself first, else an older key whose entry is that session', () => {
    const id = sessionKey(SESSION)
    const legacy = 'https://us.posthog.com#c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM'
    const entries: [string, Session | null][] = [['junk', null], [legacy, SESSION]]
    const identity = (entry: Session | null) => (entry ? sessionKey(entry) : undefined)
    expect(findStoredKey(entries, id, identity)).toBe(legacy)
    expect(findStoredKey([...entries, [id, SESSION]], id, identity)).toBe(id)
    expect(findStoredKey(entries, sessionKey({...SESSION, user: {email: 'other@example.com'}}), identity)).toBeUndefined()
  })
})

describe('isExpiring', () => {
  const at = (iso: string) => new Date(iso)
  it('is false well before expiry and true within the margin or after', () => {
    expect(isExpiring(SESSION, at('2030-01-01T00:58:59Z'))).toBe(false)
    expect(isExpiring(SESSION, at('2030-01-01T00:59:00Z'))).toBe(true)
    expect(isExpiring(SESSION, at('2030-01-01T02:00:00Z'))).toBe(true)
  })

  it('honours a custom margin', () => {
    expect(isExpiring(SESSION, at('2030-01-01T00:55:00Z'), 600)).toBe(true)
    expect(isExpiring(SESSION, at('2030-01-01T00:59:30Z'), 0)).toBe(false)
  })

  it('treats an unknown expiry as not expiring', () => {
    expect(isExpiring({expires_at: null}, at('2099-01-01T00:00:00Z'))).toBe(false)
  })
})

describe('parseSession', () => {
  it('accepts a valid session and returns a copy with only known fields', () => {
    const parsed = parseSession({...SESSION, future_field: 1})
    expect(parsed).toEqual(SESSION)
    expect(parsed.scope).not.toBe(SESSION.scope)
  })

  it('reads absent nullable fields as null', () => {
    const {region: _r, refresh_token: _t, expires_at: _e, user: _u, ...rest} = SESSION
    expect(parseSession(rest)).toEqual({...rest, region: null, refresh_token: null, expires_at: null, user: null})
  })

  it.each([
    ['issuer', {issuer: ''}],
    ['client_id', {client_id: 5}],
    ['region', {region: 'ap'}],
    ['access_token', {access_token: undefined}],
    ['refresh_token', {refresh_token: 7}],
    ['expires_at', {expires_at: 'tomorrow'}],
    ['scope', {scope: 'user:read'}],
    ['scope', {scope: ['user:read', 1]}],
    ['user', {user: 'ada'}],
    ['user.email', {user: {email: 1}}],
    ['obtained_at', {obtained_at: undefined}],
  ])('names the bad field %s', (field, change) => {
    const attempt = () => parseSession({...SESSION, ...change})
    expect(attempt).toThrow(InvalidSessionError)
    expect(attempt).toThrow(`"${field}"`)
    try {
      attempt()
    } catch (error) {
      expect((error as InvalidSessionError).field).toBe(field)
    }
  })

  it('rejects non-objects', () => {
    expect(() => parseSession(null)).toThrow(InvalidSessionError)
    expect(() => parseSession([SESSION])).toThrow(InvalidSessionError)
  })
})
