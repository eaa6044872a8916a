/**
 * The signup half of the provisioning client against the in-process mock (server.md section 4):
 * client_registration, account_requests (new and existing email), the code exchange, the provisioning
 * refresh and introspection. Where the mock does not follow the spec yet, a handler written here plays
 * the server for that one case (marked "spec shape").
 */
import {http as msw, HttpResponse} from 'msw'
import {describe, expect, it} from 'vitest'

import {NotLoggedInError, ScopeError, SessionExpiredError, UsageError} from '../../src/errors.js'
import {createHttp} from '../../src/http.js'
import type {Logger} from '../../src/log.js'
import {requestAccount, type AccountRequest} from '../../src/provisioning/account-requests.js'
import type {ProvisioningDeps} from '../../src/provisioning/api.js'
import {readAppCeiling} from '../../src/provisioning/app-ceiling.js'
import {readGrantedScopes} from '../../src/provisioning/introspection.js'
import {exchangeProvisioningCode, refreshProvisioningToken} from '../../src/provisioning/token.js'
import {WIZARD_APP_CEILING} from '../mock-server/scope-data.js'
import {createMockServer, WIZARD_CLIENT_IDS, type MockServerOptions} from '../mock-server/index.js'
import {openConsent, redirectParams, submitConsent} from '../mock-server-tests/helpers.js'
import {mswForFile} from '../support/msw.js'

const server = mswForFile()

const CLIENT_ID = WIZARD_CLIENT_IDS.us
const SCOPES = ['user:read', 'project:read', 'dashboard:write', 'insight:write', 'query:read']

function setup(options: MockServerOptions = {}) {
  const start = Date.UTC(2026, 10, 23, 12, 0, 0)
  const mock = createMockServer({now: () => start, ...options})
  server.use(...mock.handlers)
  const events: Array<{name: string; fields: Record<string, unknown>}> = []
  const logger: Logger = {event: (name, fields = {}) => void events.push({name, fields})}
  const sleeps: number[] = []
  const sleep = async (ms: number) => void sleeps.push(ms)
  const deps: ProvisioningDeps = {http: createHttp({userAgent: 'onramp/test', sleep}), logger, sleep, now: () => new Date(start)}
  const issuer = mock.issuer
  const signup = (extra: Partial<AccountRequest> = {}) => requestAccount(deps, {issuer, clientId: CLIENT_ID, email: 'new@example.com', name: 'New Person', scopes: SCOPES, region: 'US', ...extra})
  return {mock, deps, events, sleeps, issuer, signup}
}

describe('client_registration: the app ceiling before any account exists', () => {
  it('returns the ceiling as stored and the provisioning flags', async () => {
    const {deps, issuer} = setup()
    const read = await readAppCeiling(deps, {issuer, clientId: CLIENT_ID})
    expect(read).toMatchObject({kind: 'ceiling', client_id: CLIENT_ID, scopes: [...WIZARD_APP_CEILING], provisioning: {active: true, can_create_accounts: true, can_provision_resources: true}})
  })

  it('an app that may not create accounts says so in its flags', async () => {
    const {mock, deps, issuer} = setup()
    mock.control.upsertApp({client_id: CLIENT_ID, provisioning: {can_create_accounts: false}})
    const read = await readAppCeiling(deps, {issuer, clientId: CLIENT_ID})
    expect(read.kind === 'ceiling' && read.provisioning.can_create_accounts).toBe(false)
  })

  it('an unknown client is registration-failed with the server message; the old entry point still answers', async () => {
    const {deps, issuer} = setup()
    const read = await readAppCeiling(deps, {issuer, clientId: 'nobody'})
    expect(read).toMatchObject({kind: 'registration-failed'})
    expect(read.kind === 'registration-failed' && read.message).toMatch(/client_id/)
    expect((await readAppCeiling(deps, {issuer, clientId: 'nobody'})).kind).toBe('registration-failed')
  })

  it('spec shape: capabilities and checks are read when the server sends them', async () => {
    const {deps, issuer} = setup()
    server.use(
      msw.post(`${issuer}/api/agentic/provisioning/client_registration`, () =>
        HttpResponse.json({
          client_id: CLIENT_ID,
          registered: true,
          scopes: ['user:read'],
          provisioning: {active: true, can_create_accounts: false, can_provision_resources: true},
          capabilities: {account_requests: true, github_grants: false, wizard_runs: true},
          checks: [{name: 'registered', ok: true, detail: 'ok'}],
        }),
      ),
    )
    expect(await readAppCeiling(deps, {issuer, clientId: CLIENT_ID})).toMatchObject({
      capabilities: {account_requests: true, github_grants: false, wizard_runs: true},
      checks: [{name: 'registered', ok: true, detail: 'ok'}],
    })
  })

  it('spec shape: a 400 registration_failed keeps the first failed check as the message', async () => {
    const {deps, issuer} = setup()
    server.use(
      msw.post(`${issuer}/api/agentic/provisioning/client_registration`, () =>
        HttpResponse.json(
          {type: 'error', error: {code: 'registration_failed', message: 'Provisioning is deactivated for this client'}, client_id: CLIENT_ID, registered: false, checks: [{name: 'active', ok: false, detail: 'deactivated'}]},
          {status: 400},
        ),
      ),
    )
    expect(await readAppCeiling(deps, {issuer, clientId: CLIENT_ID})).toEqual({
      kind: 'registration-failed',
      reason: 'client registration failed: Provisioning is deactivated for this client',
      message: 'Provisioning is deactivated for this client',
      checks: [{name: 'active', ok: false, detail: 'deactivated'}],
    })
  })

  it('a server without the provisioning API is not-offered', async () => {
    const {deps, issuer} = setup()
    server.use(msw.post(`${issuer}/api/agentic/provisioning/client_registration`, () => new HttpResponse('no', {status: 404})))
    expect(await readAppCeiling(deps, {issuer, clientId: CLIENT_ID})).toMatchObject({kind: 'not-offered'})
  })
})

describe('account_requests', () => {
  it('a new email: the wizard-shaped request (PKCE S256, fresh UUID, scopes, region, API-Version) gets a code', async () => {
    const {deps, issuer} = setup()
    let sent: {headers: Headers; body: Record<string, unknown>} | undefined
    server.use(
      msw.post(`${issuer}/api/agentic/provisioning/account_requests`, async ({request}) => {
        sent = {headers: request.headers, body: (await request.clone().json()) as Record<string, unknown>}
        return undefined // on to the mock
      }),
    )
    const result = await requestAccount(deps, {issuer, clientId: CLIENT_ID, email: 'new@example.com', name: 'New Person', scopes: SCOPES, region: 'EU', organizationName: 'New Org'})
    expect(result.type).toBe('oauth')
    expect(sent?.headers.get('api-version')).toBe('0.1d')
    expect(sent?.body).toMatchObject({
      client_id: CLIENT_ID,
      email: 'new@example.com',
      name: 'New Person',
      scopes: SCOPES,
      code_challenge_method: 'S256',
      configuration: {region: 'EU', organization_name: 'New Org'},
    })
    expect(sent?.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(result.id).toBe(sent?.body.id)
    expect(result.pkce.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(sent?.body.code_challenge).toBe(result.pkce.challenge)
    const {createHash} = await import('node:crypto')
    expect(result.pkce.challenge).toBe(createHash('sha256').update(result.pkce.verifier).digest('base64url'))
  })

  it('two requests get two ids and two verifiers', async () => {
    const {signup} = setup()
    const first = await signup({email: 'one@example.com'})
    const second = await signup({email: 'two@example.com'})
    expect(first.id).not.toBe(second.id)
    expect(first.pkce.verifier).not.toBe(second.pkce.verifier)
  })

  it('an existing email: requires_auth with the consent URL and the state it carries', async () => {
    const {signup} = setup()
    const result = await signup({email: 'dev@example.com'})
    expect(result.type).toBe('requires_auth')
    if (result.type !== 'requires_auth') return
    expect(new URL(result.url).searchParams.get('state')).toBe(result.state)
    expect(result.state.length).toBeGreaterThan(10)
  })

  it('a retry with the same id after a lost answer finds the account created: requires_auth (id is not de-duplicated)', async () => {
    const {signup} = setup()
    const first = await signup({id: 'attempt-1'})
    const retry = await signup({id: 'attempt-1', pkce: first.pkce})
    expect(first.type).toBe('oauth')
    expect(retry).toMatchObject({type: 'requires_auth', id: 'attempt-1', pkce: first.pkce})
  })

  it('empty scopes are refused before any request', async () => {
    const {mock, signup} = setup()
    await expect(signup({scopes: []})).rejects.toBeInstanceOf(UsageError)
    expect(mock.control.snapshot().counters.requests).toEqual({})
  })

  it('an app that may not create accounts: exit 4, no account', async () => {
    const {mock, signup} = setup()
    mock.control.upsertApp({client_id: CLIENT_ID, provisioning: {can_create_accounts: false}})
    const error = await signup().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ScopeError)
    expect((error as ScopeError).code).toBe('account_creation_disabled')
    expect(mock.control.snapshot().users.map((user) => user.email)).not.toContain('new@example.com')
  })

  it('an unknown client id is a usage error naming --client-id', async () => {
    const {deps, issuer} = setup()
    const error = await requestAccount(deps, {issuer, clientId: 'nobody', email: 'new@example.com', scopes: SCOPES}).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).message).toContain('--client-id')
  })

  it('an existing email with out-of-ceiling scopes: invalid_scope, exit 4, logged as oauth.invalid_scope', async () => {
    const {signup, events} = setup()
    const error = await signup({email: 'dev@example.com', scopes: ['user:read', 'llm_gateway:write']}).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ScopeError)
    expect(events.find((event) => event.name === 'oauth.invalid_scope')?.fields).toMatchObject({step: 'account_requests', requested_scopes: ['user:read', 'llm_gateway:write']})
  })

  it('spec shape: a blocklisted email is a usage error, not a scope problem', async () => {
    const {signup, issuer} = setup()
    server.use(
      msw.post(`${issuer}/api/agentic/provisioning/account_requests`, () =>
        HttpResponse.json({type: 'error', error: {code: 'forbidden', message: 'Account creation is not available for this email address.'}}, {status: 403}),
      ),
    )
    await expect(signup()).rejects.toMatchObject({exit: 2, code: 'email_refused'})
  })

  it('a requires_auth URL that is not http(s) or has no state is refused as malformed', async () => {
    const {signup, issuer} = setup()
    for (const url of ['javascript:alert(1)//?state=x', `${issuer}/api/agentic/authorize`]) {
      server.use(msw.post(`${issuer}/api/agentic/provisioning/account_requests`, () => HttpResponse.json({id: 'r', type: 'requires_auth', requires_auth: {url}})))
      await expect(signup()).rejects.toMatchObject({exit: 6, code: 'malformed_response'})
    }
  })
})

describe('the provisioning token endpoint', () => {
  it('new email -> code -> tokens, the account and its project; expires_in as the server gave it', async () => {
    const {mock, deps, issuer, signup} = setup()
    const account = await signup()
    if (account.type !== 'oauth') throw new Error('expected a code')
    const grant = await exchangeProvisioningCode(deps, {issuer, code: account.code, verifier: account.pkce.verifier})
    expect(grant.access_token).toMatch(/^pha_/)
    expect(grant.refresh_token).toMatch(/^phr_/)
    expect(grant.expires_in).toBe(3600)
    const user = mock.control.snapshot().users.find((candidate) => candidate.email === 'new@example.com')
    expect(grant.account!.available_teams.map((team) => team.id)).toEqual(user?.teams.map((team) => team.id))
    expect(grant.account!.available_teams).toHaveLength(1)
  })

  it('sends no client_id: the public partner proves itself with PKCE', async () => {
    const {deps, issuer, signup} = setup()
    const account = await signup()
    if (account.type !== 'oauth') throw new Error('expected a code')
    let form: URLSearchParams | undefined
    server.use(
      msw.post(`${issuer}/api/agentic/oauth/token`, async ({request}) => {
        form = new URLSearchParams(await request.clone().text())
        return undefined
      }),
    )
    await exchangeProvisioningCode(deps, {issuer, code: account.code, verifier: account.pkce.verifier})
    expect(form && Object.fromEntries(form)).toEqual({grant_type: 'authorization_code', code: account.code, code_verifier: account.pkce.verifier})
  })

  it('spec shape: a year-long expires_in is kept as given, never replaced by a default', async () => {
    const {deps, issuer} = setup()
    server.use(
      msw.post(`${issuer}/api/agentic/oauth/token`, () =>
        HttpResponse.json({token_type: 'bearer', access_token: 'pha_x', refresh_token: 'phr_y', expires_in: 31536000, account: {id: 'org-1', payment_credentials: 'orchestrator', available_teams: [{id: 7, name: 'Default project', organization_id: 'org-1', organization_name: 'Org'}]}}),
      ),
    )
    expect(await exchangeProvisioningCode(deps, {issuer, code: 'c', verifier: 'v'})).toEqual({
      access_token: 'pha_x',
      refresh_token: 'phr_y',
      expires_in: 31536000,
      account: {id: 'org-1', available_teams: [{id: 7, name: 'Default project', organization_id: 'org-1', organization_name: 'Org'}]},
    })
  })

  it('an existing email: consent in the browser, then the callback code with the same verifier', async () => {
    const {deps, issuer, signup} = setup()
    const account = await signup({email: 'dev@example.com'})
    if (account.type !== 'requires_auth') throw new Error('expected requires_auth')
    const redirect = await submitConsent(await openConsent(account.url), 'allow')
    const callback = redirectParams(redirect)
    expect(callback.get('state')).toBe(account.state)
    const grant = await exchangeProvisioningCode(deps, {issuer, code: callback.get('code')!, verifier: account.pkce.verifier})
    expect(grant.access_token).toMatch(/^pha_/)
  })

  it('a wrong verifier or a used code: invalid_grant, exit 3', async () => {
    const {deps, issuer, signup} = setup()
    const account = await signup()
    if (account.type !== 'oauth') throw new Error('expected a code')
    await expect(exchangeProvisioningCode(deps, {issuer, code: account.code, verifier: 'x'.repeat(43)})).rejects.toBeInstanceOf(NotLoggedInError)
    await exchangeProvisioningCode(deps, {issuer, code: account.code, verifier: account.pkce.verifier})
    await expect(exchangeProvisioningCode(deps, {issuer, code: account.code, verifier: account.pkce.verifier})).rejects.toMatchObject({exit: 3, code: 'invalid_grant'})
  })

  it('scopes outside the ceiling fail at the exchange, after the account exists: exit 4, logged', async () => {
    const {mock, deps, issuer, signup, events} = setup()
    const scopes = ['user:read', 'llm_gateway:write']
    const account = await signup({scopes})
    if (account.type !== 'oauth') throw new Error('expected a code')
    const error = await exchangeProvisioningCode(deps, {issuer, code: account.code, verifier: account.pkce.verifier, scopes}).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ScopeError)
    expect((error as ScopeError).message).toMatch(/account itself exists/)
    expect(mock.control.snapshot().users.map((user) => user.email)).toContain('new@example.com')
    expect(events.find((event) => event.name === 'oauth.invalid_scope')?.fields).toMatchObject({step: 'token_exchange', requested_scopes: scopes})
  })

  it('refresh rotates the pair; the old access token dies at once; replaying the old refresh token is exit 5', async () => {
    const {mock, deps, issuer, signup} = setup()
    const account = await signup()
    if (account.type !== 'oauth') throw new Error('expected a code')
    const first = await exchangeProvisioningCode(deps, {issuer, code: account.code, verifier: account.pkce.verifier})
    const second = await refreshProvisioningToken(deps, {issuer, refreshToken: first.refresh_token})
    expect(second.refresh_token).not.toBe(first.refresh_token)
    expect(second.access_token).not.toBe(first.access_token)
    expect(second.expires_in).toBe(3600)
    const introspection = `${issuer}/oauth/introspect/`
    // The old access token is deleted: it cannot even introspect itself (the bare 403).
    expect(await readGrantedScopes(deps, {introspectionEndpoint: introspection, token: first.access_token})).toMatchObject({kind: 'unreadable'})
    const replay = await refreshProvisioningToken(deps, {issuer, refreshToken: first.refresh_token}).catch((caught: unknown) => caught)
    expect(replay).toBeInstanceOf(SessionExpiredError)
    expect((replay as SessionExpiredError).nextCommand).toBe('onramp signup')
    expect(mock.control.snapshot().counters.grants['provisioning:refresh_token']).toBe(1)
  })
})

describe('introspection: what the provisioning token really got', () => {
  it('reads the granted scopes and projects of a live token', async () => {
    const {deps, issuer, signup} = setup()
    const account = await signup()
    if (account.type !== 'oauth') throw new Error('expected a code')
    const grant = await exchangeProvisioningCode(deps, {issuer, code: account.code, verifier: account.pkce.verifier})
    const read = await readGrantedScopes(deps, {introspectionEndpoint: `${issuer}/oauth/introspect/`, token: grant.access_token})
    expect(read.kind).toBe('active')
    if (read.kind !== 'active') return
    expect([...read.scopes].sort()).toEqual([...SCOPES].sort())
    expect(read.scoped_teams).toEqual(grant.account!.available_teams.map((team) => team.id))
    expect(read.exp).toBe(Date.UTC(2026, 10, 23, 13, 0, 0) / 1000)
  })

  it('a token minted with fewer scopes shows only those', async () => {
    const {deps, issuer} = setup()
    server.use(msw.post(`${issuer}/oauth/introspect/`, () => HttpResponse.json({active: true, scope: 'user:read', exp: 1, client_id: CLIENT_ID, token_type: 'Bearer'})))
    expect(await readGrantedScopes(deps, {introspectionEndpoint: `${issuer}/oauth/introspect/`, token: 'pha_x'})).toEqual({
      kind: 'active',
      scopes: ['user:read'],
      exp: 1,
      scoped_teams: null,
    })
  })
})
