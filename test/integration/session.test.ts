import {http, HttpResponse} from 'msw'
import {afterEach, describe, expect, it} from 'vitest'

import {ExitCode} from '../../src/errors.js'
import {checkScopes} from '../../src/flows/check-scopes.js'
import {login} from '../../src/flows/login.js'
import {logout} from '../../src/flows/logout.js'
import {status} from '../../src/flows/status.js'
import {token} from '../../src/flows/token.js'
import {ensureFresh} from '../../src/session/ensure-fresh.js'
import {loginDefaults, startHarness, storedSessions, US_ISSUER, WIZARD_CLIENT_ID, type Harness} from '../support/harness.js'

let harness: Harness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

/** Every stored session with its tokens: list() gives metadata only, get() reads the tokens. */

async function loggedIn(options: Parameters<typeof startHarness>[0] = {}) {
  harness = await startHarness(options)
  await login(harness.deps, loginDefaults)
  return harness
}

describe('status', () => {
  it('describes every stored session', async () => {
    const h = await loggedIn()
    const result = await status(h.deps, {})
    expect(result.sessions).toHaveLength(1)
    expect(result.sessions[0]).toMatchObject({
      issuer: US_ISSUER,
      host: 'us.posthog.com',
      region: 'us',
      client_id: WIZARD_CLIENT_ID,
      user: {email: 'dev@example.com'},
      missing_required_scopes: [],
      state: 'valid',
      storage: {kind: 'file', location: expect.stringMatching(/credentials\.json$/)},
      source: 'store',
      verified: true,
      kind: 'oauth',
    })
    expect(Date.parse(result.sessions[0]!.expires_at!)).toBeGreaterThan(Date.now() + 3500_000)
  })

  it('exits 3 when there is no session for the selected host', async () => {
    const h = await loggedIn()
    await expect(status(h.deps, {region: 'eu'})).rejects.toMatchObject({exit: ExitCode.notLoggedIn})
    await expect(status(h.deps, {region: 'us'})).resolves.toMatchObject({sessions: [expect.objectContaining({region: 'us'})]})
  })

  it('shows the expired state and missing required scopes', async () => {
    const h = await loggedIn({policy: 'clamp'})
    const store = await h.deps.sessions()
    const [session] = await storedSessions(h.deps)
    await store.save({...session!, scope: session!.scope.filter((scope) => scope !== 'query:read')})
    h.advance(4000)
    const [described] = (await status(h.deps, {})).sessions
    expect(described).toMatchObject({state: 'expired', missing_required_scopes: ['query:read']})
  })
})

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
    harness = await startHarness()
    await expect(token(harness.deps, {minValidSeconds: 60})).rejects.toMatchObject({exit: ExitCode.notLoggedIn})
    const withEnv = {...harness.deps, env: {...harness.deps.env, ONRAMP_TOKEN: 'pha_fromenvironment'}}
    const envSession = {
      issuer: US_ISSUER, host: 'us.posthog.com', region: 'us', client_id: null, kind: null, source: 'env', verified: false,
      user: null, scopes: null, missing_required_scopes: null, expires_at: null, state: 'unknown', storage: {kind: 'env', location: 'ONRAMP_TOKEN'},
    }
    await expect(token(withEnv, {minValidSeconds: 60})).resolves.toEqual({access_token: 'pha_fromenvironment', session: envSession})
    await expect(status(withEnv, {})).resolves.toEqual({sessions: [envSession]})
  })
})

describe('logout', () => {
  it('revokes the refresh token, then deletes the session', async () => {
    const h = await loggedIn()
    const [session] = await storedSessions(h.deps)
    const result = await logout(h.deps, {selection: {}, all: false})
    expect(result.logged_out).toEqual([{issuer: US_ISSUER, client_id: WIZARD_CLIENT_ID, revoked: true}])
    expect(h.mock.control.snapshot().counters.revocations).toBe(1)
    expect(await (await h.deps.sessions()).list()).toEqual([])
    // The revoked access token no longer works.
    const me = await fetch(`${US_ISSUER}/api/users/@me/`, {headers: {authorization: `Bearer ${session!.access_token}`}})
    expect(me.status).toBe(401)
    await expect(token(h.deps, {minValidSeconds: 60})).rejects.toMatchObject({exit: ExitCode.notLoggedIn})
  })

  it('deletes locally even when revocation fails', async () => {
    const h = await loggedIn()
    h.mock.control.configure({fail_next: {path: '/oauth/revoke/', status: 500, count: 5}})
    const result = await logout(h.deps, {selection: {}, all: true})
    expect(result.logged_out[0]).toMatchObject({revoked: false})
    expect(h.stderr.text()).toMatch(/deleted locally anyway/)
    expect(await (await h.deps.sessions()).list()).toEqual([])
  })

  it('exits 3 when there is nothing to log out', async () => {
    harness = await startHarness()
    await expect(logout(harness.deps, {selection: {}, all: false})).rejects.toMatchObject({exit: ExitCode.notLoggedIn})
  })
})

describe('scopes --check', () => {
  it('is ok against the seeded wizard app', async () => {
    harness = await startHarness()
    const report = await checkScopes(harness.deps, {})
    expect(report).toMatchObject({issuer: US_ISSUER, client_id: WIZARD_CLIENT_ID, ok: true, advertised: 'listed'})
    expect(report.ceiling).toEqual(['@default', 'llm_gateway:read', 'wizard_session:read', 'wizard_session:write'])
    expect(report.surfaces.login.unadvertised_expected).toEqual(['llm_gateway:read', 'wizard_session:read', 'wizard_session:write'])
    expect(report.surfaces.signup).toMatchObject({missing_required: [], missing_optional: [], unadvertised_expected: ['llm_gateway:read'], outside_ceiling: [], ok: true})
  })

  it('fails when a required signup scope is outside the provisioning ceiling', async () => {
    harness = await startHarness()
    harness.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: ['user:read', 'project:read', 'query:read', 'insight:write', 'event_definition:write', 'llm_gateway:read']})
    const report = await checkScopes(harness.deps, {})
    expect(report.ok).toBe(false)
    expect(report.surfaces.signup.outside_ceiling).toEqual(['dashboard:write', 'notebook:write'])
  })

  it("reports the app's ceiling for login too: a ceiling narrowed to user:read project:read fails both surfaces", async () => {
    harness = await startHarness()
    harness.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: ['user:read', 'project:read']})
    const report = await checkScopes(harness.deps, {})
    expect(report.ok).toBe(false)
    expect(report.surfaces.login.ok).toBe(false)
    expect(report.surfaces.login.outside_ceiling).toEqual(expect.arrayContaining(['llm_gateway:read', 'dashboard:write', 'insight:write', 'query:read', 'event_definition:write', 'notebook:write']))
    expect(report.surfaces.login.outside_ceiling).not.toContain('user:read')
    expect(report.surfaces.signup.ok).toBe(false)
  })
})
