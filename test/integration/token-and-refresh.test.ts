import {http, HttpResponse} from 'msw'
import {describe, expect, it} from 'vitest'

import {ExitCode} from '../../src/errors.js'
import {status} from '../../src/flows/status.js'
import {token} from '../../src/flows/token.js'
import {ensureFresh} from '../../src/flows/refresh.js'
import {harnessPerTest, US_ISSUER, WIZARD_CLIENT_ID, storedSessions} from '../support/harness.js'

const {start, loggedIn} = harnessPerTest()

describe('token and refresh', () => {
  it('prints the stored access token while it is fresh, without a refresh', async () => {
    const h = await loggedIn()
    const [session] = await storedSessions(h.deps)
    const result = await token(h.deps, {minValidSeconds: 60})
    expect(result.access_token).toBe(session!.access_token)
    expect(h.mock.control.snapshot().counters.grants.refresh_token).toBe(0)
  })

  it('refreshes when the token expires within 60 s and persists the rotated refresh token', async () => {
    const h = await loggedIn()
    const [before] = await storedSessions(h.deps)
    h.advance(3600 - 30)
    const result = await token(h.deps, {minValidSeconds: 60})
    expect(result.access_token).not.toBe(before!.access_token)
    const [after] = await storedSessions(h.deps)
    expect(after!.access_token).toBe(result.access_token)
    expect(after!.refresh_token).not.toBe(before!.refresh_token)
    expect(h.mock.control.snapshot().counters.grants.refresh_token).toBe(1)
    // The rotated token is the one that works next time.
    h.advance(3600)
    await expect(token(h.deps, {minValidSeconds: 60})).resolves.toMatchObject({access_token: expect.stringMatching(/^pha_/)})
  })

  it('warns and names the lost scopes when a refresh narrows the session', async () => {
    const h = await loggedIn()
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: ['user:read', 'project:read', 'query:read', 'dashboard:write', 'event_definition:write', 'llm_gateway:read']})
    h.advance(3600)
    const result = await token(h.deps, {minValidSeconds: 60})
    expect(result.session.scopes).not.toContain('insight:write')
    expect(h.stderr.text()).toMatch(/narrowed this session on refresh: lost .*insight:write/)
    expect(h.logLines().find((line) => line.event === 'refresh.narrowed')).toMatchObject({lost_scopes: expect.arrayContaining(['insight:write'])})
  })

  it('exits 5 when the refresh token is refused (nothing left of the scopes)', async () => {
    const h = await loggedIn()
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: ['feature_flag:read']})
    h.advance(3600)
    const error = await token(h.deps, {minValidSeconds: 60}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.sessionExpired, nextCommand: 'onramp login'})
    expect((error as Error).message).toMatch(/onramp login/)
  })

  it('two refreshers at once: one refresh, both get the same fresh token', async () => {
    const h = await loggedIn()
    h.advance(3600)
    const other = await h.newDeps()
    const [a, b] = await Promise.all([token(h.deps, {minValidSeconds: 60}), token(other, {minValidSeconds: 60})])
    expect(a.access_token).toBe(b.access_token)
    expect(h.mock.control.snapshot().counters.grants.refresh_token).toBe(1)
  })

  it('re-reads the store on invalid_grant: another process rotated the token meanwhile', async () => {
    const h = await loggedIn()
    const store = await h.deps.sessions()
    const [stale] = await storedSessions(h.deps)
    h.advance(3600)
    const rotated = {...stale!, access_token: `pha_${'R'.repeat(44)}`, refresh_token: `phr_${'R'.repeat(44)}`, expires_at: new Date(Date.now() + 7200_000).toISOString()}
    // The other process wins the race: its rotation lands while our request is in flight.
    h.server.use(
      http.post(`${US_ISSUER}/oauth/token/`, async () => {
        await store.save(rotated)
        return HttpResponse.json({error: 'invalid_grant', error_description: 'Refresh token has been used'}, {status: 400})
      }, {once: true}),
    )
    let reads = 0
    const racing = {...store, get: async (key: Parameters<typeof store.get>[0]) => (reads++ === 0 ? stale : store.get(key)), kind: store.kind, location: store.location}
    const fresh = await ensureFresh(h.deps, {store: racing, session: stale!})
    expect(fresh.session.access_token).toBe(rotated.access_token)
  })

  it('exits 3 when not logged in, and uses ONRAMP_TOKEN as-is', async () => {
    const harness = await start()
    await expect(token(harness.deps, {minValidSeconds: 60})).rejects.toMatchObject({exit: ExitCode.notLoggedIn})
    const withEnv = {...harness.deps, env: {...harness.deps.env, ONRAMP_TOKEN: 'pha_fromenvironment'}}
    const envSession = {
      issuer: US_ISSUER, host: 'us.posthog.com', region: 'us', client_id: null, kind: null, source: 'env', verified: false, unverified_reason: 'ONRAMP_TOKEN is used as-is: onramp does not check it', account: null,
      user: null, scopes: null, requested_scopes: null, required_scopes: null, missing_required_scopes: null, expires_at: null, state: 'unknown', storage: {kind: 'env', location: 'ONRAMP_TOKEN'},
    }
    await expect(token(withEnv, {minValidSeconds: 60})).resolves.toEqual({access_token: 'pha_fromenvironment', session: envSession})
    await expect(status(withEnv, {})).resolves.toMatchObject({sessions: [envSession], selection: {issuer: US_ISSUER, used_by: {token: 0, projects: 0}}})
  })
})
