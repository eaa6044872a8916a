import {describe, expect, it} from 'vitest'

import {WIZARD_APP_CEILING} from '../mock-server/scope-data.js'
import {accountRequest, authorizeUrl, CALLBACK, EU_CLIENT, get, login, me, postJson, redirectParams, startMock, US_CLIENT, useMsw} from './helpers.js'

useMsw()

const WIZARD_URIS = [
  'http://localhost:8239/callback',
  'http://localhost:8238/callback',
  'http://localhost:8240/callback',
  'http://localhost:8237/callback',
  'http://localhost:8236/callback',
  'http://localhost:8235/callback',
  'http://localhost/callback',
  'http://127.0.0.1/callback',
]

describe('seeded state', () => {
  it('holds the US and EU wizard apps: ceiling, redirect URIs in order, not first-party, active partners', () => {
    const mock = startMock()
    const {apps} = mock.control.snapshot()
    expect(apps.map((app) => app.client_id)).toEqual([US_CLIENT, EU_CLIENT])
    for (const app of apps) {
      expect(app).toMatchObject({
        scopes: WIZARD_APP_CEILING,
        redirect_uris: WIZARD_URIS,
        first_party: false,
        provisioning: {active: true, can_create_accounts: true, can_provision_resources: true},
      })
    }
  })

  it('holds one user, dev@example.com, with an organization and a team', () => {
    const mock = startMock()
    expect(mock.control.snapshot().users).toEqual([
      {
        uuid: expect.any(String),
        email: 'dev@example.com',
        first_name: 'Dev',
        organization: {id: expect.any(String), name: 'Example Org'},
        email_verified: true,
        teams: [{id: 1, name: 'Default project', api_key: expect.stringMatching(/^phc_/)}],
      },
    ])
  })

  it('exposes the issuer; mocks do not share state', () => {
    const a = startMock()
    const b = startMock({issuer: 'https://eu.posthog.com'})
    a.control.addUser({email: 'only-a@example.com'})
    expect(b.issuer).toBe('https://eu.posthog.com')
    expect(b.control.snapshot().users).toHaveLength(1)
    expect(a.control.snapshot().users).toHaveLength(2)
  })
})

describe('control methods', () => {
  it('upsertApp updates only the fields given', () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: US_CLIENT, scopes: ['user:read'], provisioning: {can_create_accounts: false}})
    expect(mock.control.snapshot().apps[0]).toMatchObject({
      scopes: ['user:read'],
      redirect_uris: WIZARD_URIS,
      first_party: false,
      provisioning: {active: true, can_create_accounts: false, can_provision_resources: true},
    })
  })

  it('upsertApp creates an app with safe defaults, usable at once', async () => {
    const mock = startMock({autoApprove: true})
    const app = mock.control.upsertApp({client_id: 'new-app', redirect_uris: [CALLBACK], scopes: ['project:read']})
    expect(app).toMatchObject({client_id: 'new-app', first_party: false, provisioning: {active: false, can_create_accounts: false, can_provision_resources: false}})
    expect(redirectParams(await get(authorizeUrl(mock, {clientId: 'new-app', scope: 'project:read'}))).get('code')).toBeTruthy()
  })

  it('upsertApp and configure refuse malformed input', () => {
    const mock = startMock()
    expect(() => mock.control.upsertApp({client_id: ''})).toThrow(/client_id/)
    expect(() => mock.control.upsertApp({client_id: 'x', scopes: 'user:read' as unknown as string[]})).toThrow(/scopes/)
    expect(() => mock.control.configure({policy: 'lenient' as 'reject'})).toThrow(/policy/)
  })

  it('addUser makes an existing account: signup for that email needs consent', async () => {
    const mock = startMock()
    mock.control.addUser({email: 'known@example.com'})
    const response = await accountRequest(mock, {email: 'known@example.com', scopes: ['user:read'], code_challenge: 'a'.repeat(43), code_challenge_method: 'S256'})
    expect(await response.json()).toMatchObject({type: 'requires_auth'})
  })

  it('expireTokens makes every access token expire now', async () => {
    const mock = startMock({autoApprove: true})
    const tokens = await login(mock, {scope: 'user:read'})
    expect(mock.control.expireTokens()).toBe(1)
    const response = await me(mock, tokens.access_token)
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({detail: 'Access token has expired.'})
  })

  it('advanceClock moves the mock clock (codes expire)', async () => {
    const mock = startMock({autoApprove: true})
    const response = await get(authorizeUrl(mock, {scope: 'user:read'}))
    const code = redirectParams(response).get('code')!
    mock.control.advanceClock(301)
    const exchange = await postJson(`${mock.issuer}/oauth/token`, {grant_type: 'authorization_code', code, code_verifier: 'v'.repeat(43), redirect_uri: CALLBACK, client_id: US_CLIENT})
    expect(await exchange.json()).toMatchObject({error: 'invalid_grant', error_description: 'Authorization code is invalid or has already been used'})
  })

  it('reset restores the seeded state and default config', () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: US_CLIENT, scopes: []})
    mock.control.addUser({email: 'x@example.com'})
    mock.control.configure({policy: 'clamp'})
    mock.control.reset()
    const snapshot = mock.control.snapshot()
    expect(snapshot.apps[0]!.scopes).toEqual(WIZARD_APP_CEILING)
    expect(snapshot.users).toHaveLength(1)
    expect(snapshot.config.policy).toBe('reject')
  })

  it('events() and snapshot() are copies: changing them changes nothing', () => {
    const mock = startMock()
    mock.control.snapshot().apps[0]!.scopes.push('llm_gateway:write')
    expect(mock.control.snapshot().apps[0]!.scopes).toEqual(WIZARD_APP_CEILING)
  })
})

describe('control over HTTP under /__mock/ (in-process too)', () => {
  it('GET state, POST apps/users/config/tokens/expire/clock, GET events', async () => {
    const mock = startMock()
    const state = (await (await get(`${mock.issuer}/__mock/state`)).json()) as {apps: unknown[]; users: unknown[]; counters: Record<string, unknown>}
    expect(state.apps).toHaveLength(2)
    expect(state.counters).toMatchObject({requests: {}, grants: {authorization_code: 0}, revocations: 0})
    expect(await (await postJson(`${mock.issuer}/__mock/apps`, {client_id: US_CLIENT, scopes: ['user:read']})).json()).toMatchObject({scopes: ['user:read'], redirect_uris: WIZARD_URIS})
    expect(await (await postJson(`${mock.issuer}/__mock/users`, {email: 'http@example.com'})).json()).toMatchObject({email: 'http@example.com'})
    expect(await (await postJson(`${mock.issuer}/__mock/config`, {policy: 'clamp', auto_approve: true})).json()).toMatchObject({policy: 'clamp', auto_approve: true})
    expect(await (await postJson(`${mock.issuer}/__mock/tokens/expire`, {})).json()).toEqual({expired: 0})
    expect(await (await postJson(`${mock.issuer}/__mock/clock`, {advance_seconds: 10})).json()).toEqual({now: Date.UTC(2026, 10, 23, 12) + 10_000})
    await get(authorizeUrl(mock, {scope: 'user:read project:read'}))
    const events = (await (await get(`${mock.issuer}/__mock/events`)).json()) as Array<{event: string; level: string}>
    expect(events.map((event) => event.event)).toContain('oauth.authorize.scopes_clamped')
    expect(events.every((event) => typeof event.level === 'string')).toBe(true)
  })

  it('bad input -> 400 with a message', async () => {
    const mock = startMock()
    const response = await postJson(`${mock.issuer}/__mock/config`, {policy: 'nope'})
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({error: 'policy must be "reject" or "clamp"'})
    expect((await postJson(`${mock.issuer}/__mock/users`, {})).status).toBe(400)
  })
})

describe('provisioning controls over HTTP', () => {
  it('POST /__mock/apps toggles the flags, blocked and issues_personal_api_key; POST /__mock/users seeds an existing account', async () => {
    const mock = startMock()
    const app = (await (await postJson(`${mock.issuer}/__mock/apps`, {client_id: US_CLIENT, provisioning: {can_create_accounts: false, issues_personal_api_key: true}, blocked: true})).json()) as Record<string, unknown>
    expect(app).toMatchObject({blocked: true, provisioning: {active: true, can_create_accounts: false, can_provision_resources: true, issues_personal_api_key: true}})
    const user = (await (await postJson(`${mock.issuer}/__mock/users`, {email: 'seeded@example.com', organization_name: 'Seeded', project_name: 'Seeded project'})).json()) as {teams: Array<{name: string}>}
    expect(user.teams.map((team) => team.name)).toEqual(['Seeded project'])
    const state = (await (await get(`${mock.issuer}/__mock/state`)).json()) as {totals: {users: number; teams: number}; counters: {provisioning: Record<string, unknown>}}
    expect(state.totals).toEqual({users: 2, teams: 2})
    expect(state.counters.provisioning).toMatchObject({account_requests: 0, token_requests: {refresh_token: 0}})
  })

  it('POST /__mock/config refuses malformed provisioning settings', async () => {
    const mock = startMock()
    for (const body of [{access_token_ttl: 'soon'}, {mint_scopes_drop: 'user:read'}, {email_blocklist: [1]}, {rate_limit: {burst: 1}}, {registration_throttle: {per_ip: -1}}]) {
      expect((await postJson(`${mock.issuer}/__mock/config`, body)).status, JSON.stringify(body)).toBe(400)
    }
  })

  it('reset empties buckets, throttles and project links with the rest', async () => {
    const mock = startMock()
    mock.control.configure({empty_buckets: 'account_requests', access_token_ttl: 5})
    mock.control.reset()
    expect(mock.control.snapshot()).toMatchObject({buckets: {}, project_links: {}, config: {access_token_ttl: null, rate_limit: true}})
    expect((await accountRequest(mock, {email: 'after-reset@example.com'})).status).toBe(200)
  })
})
