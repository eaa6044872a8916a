/**
 * A signup session refreshes at the provisioning token endpoint (server.md 4.2, rotation with no grace
 * period) through ensureFresh()'s default refresher for `kind: 'provisioning'`, and the grant is read
 * back: a refresh the server narrowed (an admin shrank the app's ceiling) warns, naming what was lost.
 */
import {afterEach, describe, expect, it} from 'vitest'

import {signup} from '../../src/flows/signup.js'
import {ensureFresh} from '../../src/flows/refresh.js'
import {REQUIRED_SIGNUP_SCOPES} from '../../src/scopes/constant.js'
import {startHarness, WIZARD_CLIENT_ID, type Harness, storedSessions} from '../support/harness.js'

let harness: Harness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

async function signedUp(): Promise<Harness> {
  harness = await startHarness()
  await signup(harness.deps, {email: 'new@example.com', store: true, timeoutSeconds: 10})
  return harness
}

async function refreshNow(h: Harness) {
  const deps = await h.newDeps()
  const store = await deps.sessions()
  const [session] = await storedSessions(h.deps)
  h.advance(3600)
  return {before: session!, fresh: await ensureFresh(deps, {store, session: session!})}
}

describe('provisioning session refresh', () => {
  it('refreshes at /api/agentic/oauth/token by default and keeps the new pair', async () => {
    const h = await signedUp()
    const {before, fresh} = await refreshNow(h)
    expect(fresh.refreshed).toBe(true)
    expect(fresh.lost).toEqual([])
    expect(fresh.session.access_token).not.toBe(before.access_token)
    expect(h.mock.control.snapshot().counters.provisioning.token_requests.refresh_token).toBe(1)
    const stored = (await storedSessions(h.deps))[0]!
    expect(stored.refresh_token).toBe(fresh.session.refresh_token)
    expect(stored.kind).toBe('provisioning')
  })

  it('a refresh the server narrowed warns naming the lost scopes (read back by introspection)', async () => {
    const h = await signedUp()
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: REQUIRED_SIGNUP_SCOPES.filter((scope) => scope !== 'insight:write')})
    const {fresh} = await refreshNow(h)
    expect(fresh.lost).toContain('insight:write')
    expect(fresh.session.scope).not.toContain('insight:write')
    expect(h.stderr.text()).toMatch(/narrowed this session on refresh: lost .*insight:write/)
  })

  it('a refresh whose read-back fails keeps the new tokens (the old ones are already dead)', async () => {
    const h = await signedUp()
    h.mock.control.configure({fail_next: {path: '/oauth/introspect/', status: 500, count: 5}})
    const introspections = () => h.mock.control.snapshot().counters.requests['POST /oauth/introspect/'] ?? 0
    const atSignup = introspections()
    const {before, fresh} = await refreshNow(h)
    expect(introspections()).toBe(atSignup + 1)
    expect(h.logLines().some((line) => line.event === 'refresh.grant_unread')).toBe(true)
    expect(fresh.refreshed).toBe(true)
    expect(fresh.session.scope).toEqual(before.scope)
    expect((await storedSessions(h.deps))[0]!.access_token).toBe(fresh.session.access_token)
  })
})
