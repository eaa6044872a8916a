/**
 * Issue 19 item 6: with auto storage and a keychain that cannot be reached, a login or signup falls back
 * to the file; the earlier session of the same key stays in the keychain with live tokens. The save
 * reports it (with its tokens when the keychain still answers reads), and acceptGrant names it in a
 * warning and revokes it when it can.
 */
import {describe, expect, it, vi} from 'vitest'

import {acceptGrant} from '../../../../src/flows/accept-grant.js'
import {KeychainUnavailableError} from '../../../../src/session/keychain/backend.js'
import {openSessionStore} from '../../../../src/session/open-store.js'
import type {Session} from '../../../../src/session/session.js'
import {fakeBackend, KEYCHAIN_TEST_SESSION} from '../../../support/keyring.js'
import {pathsPerTest} from '../../../support/lifecycle.js'

const paths = pathsPerTest()

const OLD: Session = {...KEYCHAIN_TEST_SESSION, access_token: 'pha_old_access', refresh_token: 'phr_old_refresh'}

async function keychainWithOldSession() {
  const backend = fakeBackend()
  const first = await openSessionStore({env: {ONRAMP_STORAGE: 'auto'}, paths: paths(), warn: vi.fn(), backend})
  await first.save(OLD)
  expect((await first.list())[0]?.storage.kind).toBe('keychain')
  return backend
}

describe('a session left in a keychain that cannot be reached', () => {
  it('locked (reads say nothing): the save names it, without tokens', async () => {
    const backend = await keychainWithOldSession()
    backend.locked = true
    const store = await openSessionStore({env: {ONRAMP_STORAGE: 'auto'}, paths: paths(), warn: vi.fn(), backend})
    const saved = await store.save({...OLD, access_token: 'pha_new_access', refresh_token: 'phr_new_refresh'})
    expect(saved.storage.kind).toBe('file')
    expect(saved.left_behind).toMatchObject({session: {issuer: OLD.issuer, user: {email: 'dev@example.com'}}, location: {kind: 'keychain'}})
    expect(saved.left_behind?.tokens).toBeUndefined()
  })

  it('writes refused but reads answered: its tokens come back, and acceptGrant revokes them and says so', async () => {
    const backend = await keychainWithOldSession()
    backend.set = async () => {
      throw new KeychainUnavailableError('Fake Keychain: read-only')
    }
    const warnings: string[] = []
    const store = await openSessionStore({env: {ONRAMP_STORAGE: 'auto'}, paths: paths(), warn: (message) => void warnings.push(message), backend})
    const revoked: unknown[] = []
    const ui = {warn: (message: string) => void warnings.push(message), info: () => {}}
    await acceptGrant({logger: {event: () => {}}, ui: ui as never, now: () => new Date('2026-06-01T00:00:00Z'), paths: paths()}, {
      plan: {surface: 'login', request: ['user:read'], required: ['user:read'], advertised: 'listed', ceiling: null} as never,
      tokens: {access_token: 'pha_new_access', refresh_token: 'phr_new_refresh', expires_in: 3600, scope: 'user:read'} as never,
      granted: 'user:read',
      session: {issuer: OLD.issuer, client_id: 'client', region: 'us', kind: 'oauth'},
      store,
      revoke: async () => true,
      revokeTokens: async (tokens) => void revoked.push(tokens),
      findUser: async () => ({email: 'dev@example.com'}),
    })
    expect(revoked).toEqual([{access_token: 'pha_old_access', refresh_token: 'phr_old_refresh'}])
    const named = warnings.find((message) => message.includes('earlier login session'))
    expect(named).toMatch(/dev@example\.com on issuer\.test was left in Fake Keychain.*revoked/)
  })

  it('locked: the warning names the session and how to remove it', async () => {
    const backend = await keychainWithOldSession()
    backend.locked = true
    const warnings: string[] = []
    const store = await openSessionStore({env: {ONRAMP_STORAGE: 'auto'}, paths: paths(), warn: (message) => void warnings.push(message), backend})
    const ui = {warn: (message: string) => void warnings.push(message), info: () => {}}
    await acceptGrant({logger: {event: () => {}}, ui: ui as never, now: () => new Date('2026-06-01T00:00:00Z'), paths: paths()}, {
      plan: {surface: 'login', request: ['user:read'], required: ['user:read'], advertised: 'listed', ceiling: null} as never,
      tokens: {access_token: 'pha_new_access', refresh_token: 'phr_new_refresh', expires_in: 3600, scope: 'user:read'} as never,
      granted: 'user:read',
      session: {issuer: OLD.issuer, client_id: 'client', region: 'us', kind: 'oauth'},
      store,
      revoke: async () => true,
      revokeTokens: async () => expect.fail('no tokens to revoke'),
      findUser: async () => ({email: 'dev@example.com'}),
    })
    expect(warnings.some((message) => /keychain is unavailable/i.test(message))).toBe(true)
    expect(warnings.find((message) => message.includes('earlier login session'))).toMatch(/dev@example\.com on issuer\.test stays in Fake Keychain.*tokens that may still work.*onramp logout --host https:\/\/issuer\.test/)
  })
})
