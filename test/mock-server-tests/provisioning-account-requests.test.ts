/** server.md section 4.2, account_requests: partner auth, body rules, the check order, new and existing emails. */
import {describe, expect, it} from 'vitest'

import {WIZARD_APP_CEILING} from '../mock-server/scope-data.js'
import {effectiveCeiling} from '../mock-server/scopes.js'
import {
  accountRequest,
  grantedScopes,
  openConsent,
  pkce,
  postForm,
  postJson,
  provisioningToken,
  rateLimitOf,
  requireAuth,
  signupTokens,
  startMock,
  typedErrorOf,
  US_CLIENT,
  useMsw,
} from './helpers.js'

useMsw()

const NOT_REGISTERED = 'No provisioning client is registered for this client_id. Register it at POST /api/agentic/provisioning/client_registration'

describe('account_requests: the partner (step 2)', () => {
  it('unknown, missing, inactive or blocked client_id -> 401 unauthorized with the registration hint, nothing charged', async () => {
    const mock = startMock()
    for (const clientId of ['nobody', undefined]) {
      const response = await accountRequest(mock, {email: 'a@example.com', client_id: clientId})
      expect(rateLimitOf(response)).toBeNull()
      expect(await typedErrorOf(response)).toMatchObject({status: 401, code: 'unauthorized', message: NOT_REGISTERED})
    }
    mock.control.upsertApp({client_id: US_CLIENT, provisioning: {active: false}})
    expect(await typedErrorOf(await accountRequest(mock, {email: 'a@example.com'}))).toMatchObject({status: 401, message: NOT_REGISTERED})
    mock.control.upsertApp({client_id: US_CLIENT, provisioning: {active: true}, blocked: true})
    expect(await typedErrorOf(await accountRequest(mock, {email: 'a@example.com'}))).toMatchObject({status: 401, message: NOT_REGISTERED})
  })

  it('client_id may come as HTTP Basic (empty secret)', async () => {
    const mock = startMock()
    const basic = `Basic ${Buffer.from(`${US_CLIENT}:`).toString('base64')}`
    const response = await postJson(`${mock.issuer}/api/agentic/provisioning/account_requests`, {email: 'basic@example.com'}, {authorization: basic})
    expect(response.status).toBe(200)
  })

  it('the partner is checked before the body: an unknown client without an email is a 401', async () => {
    const mock = startMock()
    expect((await accountRequest(mock, {client_id: 'nobody'})).status).toBe(401)
  })
})

describe('account_requests: the body (step 3)', () => {
  it('email missing -> 400 invalid_request "email is required"', async () => {
    const mock = startMock()
    expect(await typedErrorOf(await accountRequest(mock, {scopes: ['user:read']}))).toMatchObject({status: 400, code: 'invalid_request', message: 'email is required'})
  })

  it('expires_at in the past -> 400 expired; in the future it is fine', async () => {
    const mock = startMock()
    const now = mock.state.now()
    expect(await typedErrorOf(await accountRequest(mock, {email: 'a@example.com', expires_at: new Date(now - 1000).toISOString()}))).toMatchObject({
      status: 400,
      code: 'expired',
      message: 'Account request has expired',
    })
    expect((await accountRequest(mock, {email: 'a@example.com', expires_at: new Date(now + 60_000).toISOString()})).status).toBe(200)
  })

  it('terms_accepted_at in the future -> 400 invalid_request with the terms message', async () => {
    const mock = startMock()
    const future = new Date(mock.state.now() + 60_000).toISOString()
    expect(await typedErrorOf(await accountRequest(mock, {email: 'a@example.com', terms_accepted_at: future}))).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: "terms_accepted_at is in the future. Send the time the end user accepted PostHog's terms of service.",
    })
  })

  it('an explicit null counts as omitted', async () => {
    const mock = startMock()
    const response = await accountRequest(mock, {email: 'nulls@example.com', scopes: null, expires_at: null, terms_accepted_at: null, code_challenge: null, id: null})
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({id: null, type: 'oauth'})
  })

  it("API-Version is not checked (today's server) unless the mock plays an older one", async () => {
    const mock = startMock()
    const bare = (body: Record<string, unknown>) => postJson(`${mock.issuer}/api/agentic/provisioning/account_requests`, {client_id: US_CLIENT, ...body})
    expect((await bare({email: 'v1@example.com'})).status).toBe(200)
    mock.control.configure({require_api_version: true})
    expect(await typedErrorOf(await bare({email: 'v2@example.com'}))).toMatchObject({status: 400, code: 'invalid_request'})
    expect((await accountRequest(mock, {email: 'v2@example.com'})).status).toBe(200)
  })

  it('a form body works too', async () => {
    const mock = startMock()
    const {challenge} = pkce()
    const response = await postForm(`${mock.issuer}/api/agentic/provisioning/account_requests`, {client_id: US_CLIENT, email: 'form@example.com', scopes: 'user:read project:read', code_challenge: challenge})
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({type: 'oauth'})
  })
})

describe('account_requests: the rest of the check order', () => {
  it('step 4: empty or missing scopes -> the effective ceiling, sorted', async () => {
    const mock = startMock()
    const sorted = [...effectiveCeiling(WIZARD_APP_CEILING)].sort()
    expect(await grantedScopes(mock, (await signupTokens(mock, {email: 'none@example.com'})).access_token)).toEqual(sorted)
    expect(await grantedScopes(mock, (await signupTokens(mock, {email: 'empty@example.com', scopes: []})).access_token)).toEqual(sorted)
  })

  it('step 5: can_create_accounts off -> 403 forbidden, before the bucket is charged', async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: US_CLIENT, provisioning: {can_create_accounts: false}})
    const response = await accountRequest(mock, {email: 'x@example.com'})
    expect(rateLimitOf(response)).toBeNull()
    expect(await typedErrorOf(response)).toMatchObject({status: 403, code: 'forbidden', message: 'Account creation is not enabled for this partner'})
    expect(mock.control.snapshot().totals.users).toBe(1)
  })

  it('step 5 comes after the body: can_create_accounts off and no email -> 400', async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: US_CLIENT, provisioning: {can_create_accounts: false}})
    expect((await accountRequest(mock, {})).status).toBe(400)
  })

  it('step 8: a blocklisted email -> 403 forbidden after the charge (headers), refunded', async () => {
    const mock = startMock()
    mock.control.configure({email_blocklist: ['@blocked.test']})
    const response = await accountRequest(mock, {email: 'who@blocked.test'})
    expect(rateLimitOf(response)).toMatchObject({limit: 5, remaining: 5})
    expect(await typedErrorOf(response)).toMatchObject({status: 403, code: 'forbidden', message: 'Account creation is not available for this email address.'})
  })

  it('step 9: PKCE messages (only when a challenge is sent)', async () => {
    const mock = startMock()
    const {challenge} = pkce()
    expect(await typedErrorOf(await accountRequest(mock, {email: 'a@example.com', code_challenge: challenge, code_challenge_method: 'plain'}))).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: 'Only S256 code_challenge_method is supported',
    })
    for (const bad of ['short', `${'a'.repeat(42)}!`, 'a'.repeat(129)]) {
      expect(await typedErrorOf(await accountRequest(mock, {email: 'a@example.com', code_challenge: bad}))).toMatchObject({
        status: 400,
        message: 'code_challenge must be 43-128 characters using base64url charset',
      })
    }
    // code_challenge_method defaults to S256.
    expect((await accountRequest(mock, {email: 'a@example.com', code_challenge: challenge})).status).toBe(200)
  })
})

describe('account_requests: a new email (step 11)', () => {
  it('creates an unverified user, an organization and a project, and answers {id, type:"oauth", oauth:{code}}', async () => {
    const mock = startMock()
    const response = await accountRequest(mock, {id: 'req-42', email: 'new@example.com', name: 'Ada Lovelace', configuration: {region: 'eu', organization_name: 'New Org'}, scopes: ['user:read']})
    expect(response.status).toBe(200)
    expect(rateLimitOf(response)).toMatchObject({limit: 5, remaining: 4})
    expect(await response.json()).toEqual({id: 'req-42', type: 'oauth', oauth: {code: expect.stringMatching(/^[A-Za-z0-9]{30}$/)}})
    const user = mock.control.snapshot().users.find((candidate) => candidate.email === 'new@example.com')!
    expect(user).toMatchObject({first_name: 'Ada', email_verified: false, organization: {name: 'New Org'}, teams: [{name: 'Default project'}]})
    expect(mock.state.users.get('new@example.com')!.region).toBe('EU')
    expect(mock.control.snapshot().counters.provisioning).toMatchObject({account_requests: 1, accounts_created: 1})
  })

  it('organization_name defaults to "<app name> (<email>)"', async () => {
    const mock = startMock()
    await accountRequest(mock, {email: 'plain@example.com', configuration: {}})
    expect(mock.control.snapshot().users.find((user) => user.email === 'plain@example.com')!.organization.name).toBe('PostHog Wizard (US) (plain@example.com)')
  })

  it('scopes are NOT checked here: out-of-ceiling scopes still create the account and mint a code', async () => {
    const mock = startMock()
    const response = await accountRequest(mock, {email: 'stranded@example.com', scopes: ['llm_gateway:write']})
    expect(await response.json()).toMatchObject({type: 'oauth'})
    expect(mock.control.snapshot().totals.users).toBe(2)
  })

  it('the code lives 300 s', async () => {
    const mock = startMock()
    const {challenge, verifier} = pkce()
    const first = (await (await accountRequest(mock, {email: 'a@example.com', scopes: ['user:read'], code_challenge: challenge})).json()) as {oauth: {code: string}}
    mock.clock.advance(299)
    expect((await provisioningToken(mock, {grant_type: 'authorization_code', code: first.oauth.code, code_verifier: verifier})).status).toBe(200)
    const second = (await (await accountRequest(mock, {email: 'b@example.com', scopes: ['user:read'], code_challenge: challenge})).json()) as {oauth: {code: string}}
    mock.clock.advance(300)
    expect((await provisioningToken(mock, {grant_type: 'authorization_code', code: second.oauth.code, code_verifier: verifier})).status).toBe(400)
  })

  it('id is echoed but not de-duplicated: a retry after success answers requires_auth', async () => {
    const mock = startMock()
    const {challenge} = pkce()
    const request = {id: 'same-id', email: 'retry@example.com', scopes: ['user:read'], code_challenge: challenge}
    expect(await (await accountRequest(mock, request)).json()).toMatchObject({id: 'same-id', type: 'oauth'})
    expect(await (await accountRequest(mock, request)).json()).toMatchObject({id: 'same-id', type: 'requires_auth'})
    expect(mock.control.snapshot().counters.provisioning).toMatchObject({account_requests: 2, accounts_created: 1})
  })
})

describe('account_requests: an existing email (step 10)', () => {
  it('answers requires_auth with <host>/api/agentic/authorize?state=…&scope=<space-joined>', async () => {
    const mock = startMock()
    const {response, body} = await requireAuth(mock)
    expect(response.status).toBe(200)
    expect(body).toMatchObject({id: 'req-1', type: 'requires_auth'})
    const url = new URL(body.requires_auth.url)
    expect(`${url.origin}${url.pathname}`).toBe('https://us.posthog.com/api/agentic/authorize')
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9]{32}$/)
    expect(url.searchParams.get('scope')).toBe('user:read project:read')
    expect(mock.control.snapshot().totals.users).toBe(1)
  })

  it('no challenge -> 400 invalid_request, with id, checked BEFORE the ceiling', async () => {
    const mock = startMock()
    const error = await typedErrorOf(await accountRequest(mock, {id: 'r1', email: 'dev@example.com', scopes: ['llm_gateway:write']}))
    expect(error).toMatchObject({status: 400, code: 'invalid_request', message: 'code_challenge is required for public clients'})
    expect(error.body.id).toBe('r1')
  })

  it('scopes outside the ceiling -> 400 invalid_scope, with id; * is never allowed', async () => {
    const mock = startMock()
    const {challenge} = pkce()
    for (const scopes of [['user:read', 'llm_gateway:write'], ['*']]) {
      const error = await typedErrorOf(await accountRequest(mock, {id: 'r2', email: 'dev@example.com', scopes, code_challenge: challenge}))
      expect(error).toMatchObject({status: 400, code: 'invalid_scope', message: "One or more requested scopes exceed the application's allowed scopes"})
      expect(error.body.id).toBe('r2')
    }
  })

  it('an earlier pending state for the same partner and email is discarded', async () => {
    const mock = startMock()
    const first = await requireAuth(mock)
    const second = await requireAuth(mock)
    expect(first.state).not.toBe(second.state)
    const stale = await openConsent(first.body.requires_auth.url)
    expect(await stale.text()).toContain('data-error="expired_or_invalid_state"')
    expect(await (await openConsent(second.body.requires_auth.url)).text()).toContain('id="consent"')
  })
})
