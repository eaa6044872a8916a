import {describe, expect, it} from 'vitest'

import {afterRefusal, refreshedSession, signInAgain, validateSession} from '../../../src/session/freshness.js'
import type {Session} from '../../../src/session/session.js'

const NOW = new Date('2026-03-01T12:00:00.000Z')
const inSeconds = (seconds: number) => new Date(NOW.getTime() + seconds * 1000).toISOString()

function session(overrides: Partial<Session> = {}): Session {
  return {
    issuer: 'https://auth.example',
    client_id: 'client-1',
    kind: 'oauth',
    access_token: 'access-1',
    refresh_token: 'refresh-1',
    expires_at: inSeconds(3600),
    scope: ['openid', 'project:read'],
    obtained_at: NOW.toISOString(),
    region: null,
    user: null,
    ...overrides,
  }
}

const both = {now: NOW, minValidSeconds: 60, refreshable: ['oauth', 'provisioning'] as const}

describe('validateSession (the pure decision: ok / needs_refresh / needs_full_auth)', () => {
  it('ok while the access token stays good beyond the margin, and for an unknown lifetime', () => {
    expect(validateSession(session(), both)).toEqual({status: 'ok'})
    expect(validateSession(session({expires_at: null}), both)).toEqual({status: 'ok'})
    expect(validateSession(session({expires_at: inSeconds(61)}), both)).toEqual({status: 'ok'})
  })

  it('needs_refresh within the margin, when expired, when unreadable, and for --min-valid beyond the lifetime', () => {
    expect(validateSession(session({expires_at: inSeconds(60)}), both)).toEqual({status: 'needs_refresh'})
    expect(validateSession(session({expires_at: inSeconds(-10)}), both)).toEqual({status: 'needs_refresh'})
    expect(validateSession(session({expires_at: 'not a date'}), both)).toEqual({status: 'needs_refresh'})
    expect(validateSession(session(), {...both, minValidSeconds: 7200})).toEqual({status: 'needs_refresh'})
  })

  it('needs_full_auth without a refresh token, naming login for a login session and signup for a provisioning one', () => {
    expect(validateSession(session({refresh_token: null, expires_at: inSeconds(5)}), both)).toMatchObject({
      status: 'needs_full_auth',
      nextCommand: 'onramp login',
      reason: expect.stringMatching(/expires within 60 s and there is no refresh token/),
    })
    expect(validateSession(session({kind: 'provisioning', refresh_token: null, expires_at: inSeconds(5)}), both)).toMatchObject({status: 'needs_full_auth', nextCommand: 'onramp signup'})
  })

  it('needs_full_auth for a kind this process cannot refresh', () => {
    expect(validateSession(session({kind: 'provisioning', expires_at: inSeconds(5)}), {...both, refreshable: ['oauth']})).toMatchObject({
      status: 'needs_full_auth',
      reason: expect.stringMatching(/cannot refresh a provisioning session/),
    })
  })

  it('takes data and returns data: the session passed in is not changed', () => {
    const input = session({expires_at: inSeconds(5)})
    const copy = structuredClone(input)
    validateSession(input, both)
    expect(input).toEqual(copy)
  })
})

describe('refreshedSession', () => {
  it('takes the new pair, lifetime and scope; keeps the old refresh token and scope when the server sends none', () => {
    const current = session({expires_at: inSeconds(5)})
    expect(refreshedSession(current, {access_token: 'access-2', refresh_token: 'refresh-2', expires_in: 600, scope: 'openid  openid project:write'}, NOW)).toMatchObject({
      access_token: 'access-2',
      refresh_token: 'refresh-2',
      expires_at: inSeconds(600),
      scope: ['openid', 'project:write'],
      obtained_at: NOW.toISOString(),
    })
    expect(refreshedSession(current, {access_token: 'access-2'}, NOW)).toMatchObject({refresh_token: 'refresh-1', scope: ['openid', 'project:read'], expires_at: null})
  })
})

describe('afterRefusal (invalid_grant: did another process win the race?)', () => {
  const refused = session({expires_at: inSeconds(5)})
  const base = {refused, now: NOW, minValidSeconds: 60, retried: false}

  it('uses the stored session when another process rotated the token and its access token is good', () => {
    const winner = session({access_token: 'access-2', refresh_token: 'refresh-2', expires_at: inSeconds(3600)})
    expect(afterRefusal({...base, stored: winner})).toEqual({action: 'use_stored', session: winner})
    expect(afterRefusal({...base, stored: winner, retried: true})).toEqual({action: 'use_stored', session: winner})
  })

  it('refreshes once with the stored pair when the winner\'s access token is expiring too, and gives up on a second refusal', () => {
    const winner = session({access_token: 'access-2', refresh_token: 'refresh-2', expires_at: inSeconds(10)})
    expect(afterRefusal({...base, stored: winner})).toEqual({action: 'refresh_stored', session: winner})
    expect(afterRefusal({...base, stored: winner, retried: true})).toEqual({action: 'needs_full_auth'})
  })

  it('needs_full_auth only when the refused session is still the stored one', () => {
    expect(afterRefusal({...base, stored: refused})).toEqual({action: 'needs_full_auth'})
    expect(afterRefusal({...base, stored: {...refused}})).toEqual({action: 'needs_full_auth'})
  })

  it('removed when a logout took the session meanwhile', () => {
    expect(afterRefusal({...base, stored: undefined})).toEqual({action: 'removed'})
  })
})

describe('signInAgain', () => {
  it('says each thing once: signup for provisioning sessions, login for the rest', () => {
    expect(signInAgain('provisioning')).toEqual({nextCommand: 'onramp signup', advice: 'Run onramp signup again with the same email to authorize a new one.'})
    expect(signInAgain('oauth')).toEqual({nextCommand: 'onramp login', advice: 'Run onramp login to sign in again.'})
  })
})
