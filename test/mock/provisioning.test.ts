import {describe, expect, it} from 'vitest'

import {WIZARD_APP_CEILING} from '../mock-server/scope-data.js'
import {effectiveCeiling} from '../mock-server/scopes.js'
import {
  accountRequest,
  bearer,
  get,
  grantedScopes,
  login,
  parseForm,
  pkce,
  postForm,
  postJson,
  provisioningToken,
  redirectParams,
  signupTokens,
  startMock,
  submitConsent,
  TOKEN_PATTERN,
  US_CLIENT,
  useMsw,
} from './helpers.js'

useMsw()

type Mock = ReturnType<typeof startMock>

async function provisioningErrorOf(response: Response): Promise<{status: number; code: string; message: string}> {
  const body = (await response.json()) as {type: string; error: {code: string; message: string}}
  expect(body.type).toBe('error')
  return {status: response.status, ...body.error}
}

/** Existing-account signup up to the consent URL. */
async function requireAuth(mock: Mock, scopes = ['user:read', 'project:read']) {
  const {verifier, challenge} = pkce()
  const response = await accountRequest(mock, {id: 'req-1', email: 'dev@example.com', scopes, code_challenge: challenge, code_challenge_method: 'S256'})
  const body = (await response.json()) as {id: string; type: string; requires_auth: {url: string}}
  return {response, body, verifier}
}

async function directMint(mock: Mock, {email = 'new@example.com', scopes}: {email?: string; scopes?: string[]} = {}) {
  const {verifier, challenge} = pkce()
  const response = await accountRequest(mock, {id: 'req-new', email, scopes, code_challenge: challenge, code_challenge_method: 'S256'})
  const body = (await response.json()) as {oauth: {code: string}}
  return {code: body.oauth.code, verifier}
}

describe('POST /api/agentic/provisioning/client_registration', () => {
  it('200 with the app ceiling as stored and the provisioning flags', async () => {
    const mock = startMock()
    const response = await postJson(`${mock.issuer}/api/agentic/provisioning/client_registration`, {client_id: US_CLIENT})
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({
      client_id: US_CLIENT,
      registered: true,
      scopes: WIZARD_APP_CEILING,
      provisioning: {active: true, can_create_accounts: true, can_provision_resources: true},
    })
  })

  it('unknown client -> 400 registration_failed in the provisioning error format', async () => {
    const mock = startMock()
    expect(await provisioningErrorOf(await postJson(`${mock.issuer}/api/agentic/provisioning/client_registration`, {client_id: 'nobody'}))).toMatchObject({
      status: 400,
      code: 'registration_failed',
    })
  })

  it('no trailing slash: the slashed path is a 404', async () => {
    const mock = startMock()
    expect((await postJson(`${mock.issuer}/api/agentic/provisioning/client_registration/`, {client_id: US_CLIENT})).status).toBe(404)
  })
})

describe('POST /api/agentic/provisioning/account_requests: validation', () => {
  it('email missing -> 400 invalid_request "email is required"', async () => {
    const mock = startMock()
    expect(await provisioningErrorOf(await accountRequest(mock, {scopes: ['user:read']}))).toEqual({status: 400, code: 'invalid_request', message: 'email is required'})
  })

  it('client not an active provisioning partner -> 401 unauthorized', async () => {
    const mock = startMock()
    expect(await provisioningErrorOf(await accountRequest(mock, {email: 'a@example.com', client_id: 'nobody'}))).toMatchObject({status: 401, code: 'unauthorized'})
    mock.control.upsertApp({client_id: US_CLIENT, provisioning: {active: false}})
    expect(await provisioningErrorOf(await accountRequest(mock, {email: 'a@example.com'}))).toMatchObject({status: 401, code: 'unauthorized'})
  })

  it('code_challenge not S256 or malformed -> 400 invalid_request', async () => {
    const mock = startMock()
    const {challenge} = pkce()
    expect(await provisioningErrorOf(await accountRequest(mock, {email: 'a@example.com', code_challenge: challenge, code_challenge_method: 'plain'}))).toMatchObject({status: 400, code: 'invalid_request'})
    expect(await provisioningErrorOf(await accountRequest(mock, {email: 'a@example.com', code_challenge: 'short', code_challenge_method: 'S256'}))).toMatchObject({status: 400, code: 'invalid_request'})
    expect(await provisioningErrorOf(await accountRequest(mock, {email: 'a@example.com', code_challenge: `${'a'.repeat(42)}!`, code_challenge_method: 'S256'}))).toMatchObject({status: 400})
  })

  it('rate limit: burst of 5 per partner, then 429 rate_limited with Retry-After; 10 per hour', async () => {
    const mock = startMock()
    for (let index = 0; index < 5; index++) expect((await accountRequest(mock, {email: `burst${index}@example.com`})).status).toBe(200)
    const limited = await accountRequest(mock, {email: 'burst5@example.com'})
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await provisioningErrorOf(limited)).toMatchObject({code: 'rate_limited'})
    mock.clock.advance(61)
    for (let index = 0; index < 5; index++) expect((await accountRequest(mock, {email: `later${index}@example.com`})).status).toBe(200)
    mock.clock.advance(61)
    const hourly = await accountRequest(mock, {email: 'eleventh@example.com'})
    expect(hourly.status).toBe(429)
    expect(Number(hourly.headers.get('retry-after'))).toBeGreaterThan(60)
  })

  it('the rate limit is per partner and can be turned off', async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: 'partner-b', scopes: [], redirect_uris: ['http://localhost/cb'], provisioning: {active: true, can_create_accounts: true}})
    for (let index = 0; index < 5; index++) await accountRequest(mock, {email: `a${index}@example.com`})
    expect((await accountRequest(mock, {email: 'b@example.com', client_id: 'partner-b'})).status).toBe(200)
    mock.control.configure({rate_limit: false})
    expect((await accountRequest(mock, {email: 'a9@example.com'})).status).toBe(200)
  })

  it('API-Version is required when the mock plays an older server', async () => {
    const mock = startMock()
    mock.control.configure({require_api_version: true})
    const without = await postJson(`${mock.issuer}/api/agentic/provisioning/account_requests`, {client_id: US_CLIENT, email: 'v@example.com'})
    expect(await provisioningErrorOf(without)).toMatchObject({status: 400, code: 'invalid_request'})
    expect((await accountRequest(mock, {email: 'v@example.com'})).status).toBe(200)
  })
})

describe('account_requests: new email (direct mint)', () => {
  it('creates the account and project, and answers {id, type:"oauth", oauth:{code}}', async () => {
    const mock = startMock()
    const {challenge} = pkce()
    const response = await accountRequest(mock, {id: 'req-7', email: 'fresh@example.com', scopes: ['user:read'], code_challenge: challenge, code_challenge_method: 'S256'})
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({id: 'req-7', type: 'oauth', oauth: {code: expect.any(String)}})
    const user = mock.control.snapshot().users.find((candidate) => candidate.email === 'fresh@example.com')
    expect(user).toMatchObject({first_name: 'New Person', organization: {name: 'New Org'}, teams: [{name: 'Default project'}]})
  })

  it('the code exchange: bearer pair, expires_in, account with available_teams, and NO scope field', async () => {
    const mock = startMock()
    const {code, verifier} = await directMint(mock, {scopes: ['user:read', 'project:read']})
    const response = await provisioningToken(mock, {grant_type: 'authorization_code', code, code_verifier: verifier})
    expect(response.status).toBe(200)
    const body = (await response.json()) as Record<string, unknown>
    expect(body).toEqual({
      token_type: 'bearer',
      access_token: expect.stringMatching(TOKEN_PATTERN.access),
      refresh_token: expect.stringMatching(TOKEN_PATTERN.refresh),
      expires_in: 3600,
      account: {id: expect.any(String), available_teams: [{id: expect.any(Number), name: 'Default project', organization_id: expect.any(String), organization_name: 'New Org'}]},
    })
    expect(await grantedScopes(mock, body.access_token as string)).toEqual(['user:read', 'project:read'])
    expect(mock.control.snapshot().counters.grants['provisioning:authorization_code']).toBe(1)
  })

  it('empty or missing scopes -> the app effective ceiling', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'noscopes@example.com'})
    expect(await grantedScopes(mock, tokens.access_token)).toEqual(effectiveCeiling(WIZARD_APP_CEILING))
    const empty = await signupTokens(mock, {email: 'empty@example.com', scopes: []})
    expect(await grantedScopes(mock, empty.access_token)).toEqual(effectiveCeiling(WIZARD_APP_CEILING))
  })

  it('a partner that may not create accounts -> 403', async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: US_CLIENT, provisioning: {can_create_accounts: false}})
    expect(await provisioningErrorOf(await accountRequest(mock, {email: 'x@example.com'}))).toMatchObject({status: 403})
  })
})

describe('account_requests: existing email (browser consent)', () => {
  it('answers requires_auth with a consent URL on the host', async () => {
    const mock = startMock()
    const {response, body} = await requireAuth(mock)
    expect(response.status).toBe(200)
    expect(body).toMatchObject({id: 'req-1', type: 'requires_auth'})
    expect(body.requires_auth.url).toMatch(/^https:\/\/us\.posthog\.com\/api\/agentic\/authorize\?state=[A-Za-z0-9]+$/)
  })

  it('checks the ceiling first: out of ceiling -> 400 invalid_scope (even without a challenge)', async () => {
    const mock = startMock()
    const response = await accountRequest(mock, {email: 'dev@example.com', scopes: ['user:read', 'llm_gateway:write']})
    expect(await provisioningErrorOf(response)).toEqual({status: 400, code: 'invalid_scope', message: "One or more requested scopes exceed the application's allowed scopes"})
  })

  it('* is never allowed', async () => {
    const mock = startMock()
    expect(await provisioningErrorOf(await accountRequest(mock, {email: 'dev@example.com', scopes: ['*']}))).toMatchObject({code: 'invalid_scope'})
  })

  it('missing code_challenge -> 400', async () => {
    const mock = startMock()
    expect(await provisioningErrorOf(await accountRequest(mock, {email: 'dev@example.com', scopes: ['user:read']}))).toMatchObject({status: 400, code: 'invalid_request'})
  })

  it('consent approved -> 302 to the FIRST registered redirect URI with code and the state of the consent URL', async () => {
    const mock = startMock()
    const {body, verifier} = await requireAuth(mock)
    const state = new URL(body.requires_auth.url).searchParams.get('state')!
    const page = await get(body.requires_auth.url)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('<code>project:read</code>')
    expect(parseForm(html).buttons.map((button) => button.label)).toEqual(['Authorize', 'Deny'])
    const approved = await postForm(parseForm(html).action, {...parseForm(html).fields, decision: 'allow'})
    expect(approved.status).toBe(302)
    expect(approved.headers.get('location')!.startsWith('http://localhost:8239/callback?code=')).toBe(true)
    const params = redirectParams(approved)
    expect(params.get('state')).toBe(state)
    const tokens = await provisioningToken(mock, {grant_type: 'authorization_code', code: params.get('code')!, code_verifier: verifier})
    expect(tokens.status).toBe(200)
    const tokenBody = (await tokens.json()) as {access_token: string; account: {available_teams: unknown[]}}
    expect(tokenBody.account.available_teams).toHaveLength(1)
    expect(await grantedScopes(mock, tokenBody.access_token)).toEqual(['user:read', 'project:read'])
  })

  it('the first redirect URI follows the app registration order', async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: US_CLIENT, redirect_uris: ['http://localhost:9999/done', 'http://localhost:8239/callback']})
    const {body} = await requireAuth(mock)
    const approved = await submitConsent(await get(body.requires_auth.url), 'allow')
    expect(approved.headers.get('location')!.startsWith('http://localhost:9999/done?code=')).toBe(true)
  })

  it('consent refused -> ?error=access_denied&state=...', async () => {
    const mock = startMock()
    const {body} = await requireAuth(mock)
    const state = new URL(body.requires_auth.url).searchParams.get('state')
    const params = redirectParams(await submitConsent(await get(body.requires_auth.url), 'deny'))
    expect(params.get('error')).toBe('access_denied')
    expect(params.get('state')).toBe(state)
    expect(params.get('code')).toBeNull()
  })

  it('the consent link is single use; an unknown state is an error page', async () => {
    const mock = startMock()
    const {body} = await requireAuth(mock)
    await submitConsent(await get(body.requires_auth.url), 'allow')
    expect((await get(body.requires_auth.url)).status).toBe(400)
    expect((await get(`${mock.issuer}/api/agentic/authorize?state=nope`)).status).toBe(400)
  })

  it('auto-approve redirects straight away', async () => {
    const mock = startMock({autoApprove: true})
    const {body} = await requireAuth(mock)
    const response = await get(body.requires_auth.url)
    expect(response.status).toBe(302)
    expect(redirectParams(response).get('code')).toBeTruthy()
  })
})

describe('POST /api/agentic/oauth/token: authorization_code', () => {
  it('unknown code -> 400 invalid_grant "Invalid or expired authorization code"', async () => {
    const mock = startMock()
    const response = await provisioningToken(mock, {grant_type: 'authorization_code', code: 'nope', code_verifier: pkce().verifier})
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({error: 'invalid_grant', error_description: 'Invalid or expired authorization code'})
  })

  it('expired code (300 s) -> invalid_grant', async () => {
    const mock = startMock()
    const {code, verifier} = await directMint(mock)
    mock.clock.advance(300)
    expect(await (await provisioningToken(mock, {grant_type: 'authorization_code', code, code_verifier: verifier})).json()).toMatchObject({error: 'invalid_grant'})
  })

  it('missing verifier -> 401 invalid_request; the code is NOT consumed', async () => {
    const mock = startMock()
    const {code, verifier} = await directMint(mock, {scopes: ['user:read']})
    const response = await provisioningToken(mock, {grant_type: 'authorization_code', code})
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({error: 'invalid_request', error_description: 'code_verifier is required for PKCE'})
    expect((await provisioningToken(mock, {grant_type: 'authorization_code', code, code_verifier: verifier})).status).toBe(200)
  })

  it('verifier mismatch -> 400 invalid_grant; the code is NOT consumed', async () => {
    const mock = startMock()
    const {code, verifier} = await directMint(mock, {scopes: ['user:read']})
    const response = await provisioningToken(mock, {grant_type: 'authorization_code', code, code_verifier: pkce().verifier})
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({error: 'invalid_grant', error_description: 'PKCE code_verifier does not match'})
    expect((await provisioningToken(mock, {grant_type: 'authorization_code', code, code_verifier: verifier})).status).toBe(200)
  })

  it('scopes outside the ceiling -> 400 invalid_scope, and the code IS consumed', async () => {
    const mock = startMock()
    const {code, verifier} = await directMint(mock, {scopes: ['user:read', 'llm_gateway:write']})
    const response = await provisioningToken(mock, {grant_type: 'authorization_code', code, code_verifier: verifier})
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({error: 'invalid_scope', error_description: "Requested scopes exceed the application's allowed scopes"})
    expect(await (await provisioningToken(mock, {grant_type: 'authorization_code', code, code_verifier: verifier})).json()).toMatchObject({error: 'invalid_grant'})
  })

  it('* is never allowed; always-allowed scopes pass; privileged scopes of the ceiling pass', async () => {
    const mock = startMock()
    const star = await directMint(mock, {email: 'star@example.com', scopes: ['*']})
    expect(await (await provisioningToken(mock, {grant_type: 'authorization_code', code: star.code, code_verifier: star.verifier})).json()).toMatchObject({error: 'invalid_scope'})
    const tokens = await signupTokens(mock, {email: 'ok@example.com', scopes: ['openid', 'introspection', 'user:read', 'llm_gateway:read']})
    expect(await grantedScopes(mock, tokens.access_token)).toEqual(['openid', 'introspection', 'user:read', 'llm_gateway:read'])
  })

  it('a code without a challenge needs no verifier', async () => {
    const mock = startMock()
    const response = await accountRequest(mock, {email: 'nopkce@example.com', scopes: ['user:read']})
    const {oauth} = (await response.json()) as {oauth: {code: string}}
    expect((await provisioningToken(mock, {grant_type: 'authorization_code', code: oauth.code})).status).toBe(200)
  })

  it('form and JSON bodies; unknown grant type -> unsupported_grant_type', async () => {
    const mock = startMock()
    const {code, verifier} = await directMint(mock, {scopes: ['user:read']})
    expect((await postJson(`${mock.issuer}/api/agentic/oauth/token`, {grant_type: 'authorization_code', code, code_verifier: verifier})).status).toBe(200)
    expect(await (await provisioningToken(mock, {grant_type: 'client_credentials'})).json()).toMatchObject({error: 'unsupported_grant_type'})
  })
})

describe('POST /api/agentic/oauth/token: refresh_token', () => {
  it('rotates; the success has no account and no scope', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'r@example.com', scopes: ['user:read']})
    const response = await provisioningToken(mock, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token})
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({token_type: 'bearer', access_token: expect.stringMatching(TOKEN_PATTERN.access), refresh_token: expect.stringMatching(TOKEN_PATTERN.refresh), expires_in: 3600})
    expect(mock.control.snapshot().counters.grants['provisioning:refresh_token']).toBe(1)
  })

  it('NO grace period: a replay right away -> invalid_grant "Invalid or revoked refresh token"', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'r@example.com', scopes: ['user:read']})
    await provisioningToken(mock, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token})
    const replay = await provisioningToken(mock, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token})
    expect(replay.status).toBe(400)
    expect(await replay.json()).toEqual({error: 'invalid_grant', error_description: 'Invalid or revoked refresh token'})
  })

  it('narrows like /oauth/token, and fails with invalid_grant when nothing is left', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'n@example.com', scopes: ['user:read', 'insight:write']})
    mock.control.upsertApp({client_id: US_CLIENT, scopes: ['user:read']})
    const narrowed = (await (await provisioningToken(mock, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token})).json()) as {access_token: string; refresh_token: string}
    expect(await grantedScopes(mock, narrowed.access_token)).toEqual(['user:read'])
    mock.control.upsertApp({client_id: US_CLIENT, scopes: ['project:read']})
    expect(await (await provisioningToken(mock, {grant_type: 'refresh_token', refresh_token: narrowed.refresh_token})).json()).toEqual({
      error: 'invalid_grant',
      error_description: "Token scopes are no longer within the application's allowed scopes; re-authorize.",
    })
  })

  it('an /oauth/token refresh token is not accepted here', async () => {
    const mock = startMock()
    mock.control.configure({auto_approve: true})
    const tokens = await login(mock, {scope: 'user:read'})
    expect(await (await provisioningToken(mock, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token})).json()).toMatchObject({error: 'invalid_grant'})
  })
})

describe('POST /api/agentic/provisioning/resources', () => {
  const provision = (mock: Mock, token: string | undefined, body: unknown = {configuration: {project_name: 'My app'}}) =>
    postJson(`${mock.issuer}/api/agentic/provisioning/resources`, body, token ? bearer(token) : {})

  it('creates the project and returns its API key and host', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'p@example.com', scopes: ['user:read']})
    const response = await provision(mock, tokens.access_token)
    expect(response.status).toBe(200)
    const body = (await response.json()) as {id: string}
    expect(body).toEqual({status: 'complete', id: expect.stringMatching(/^\d+$/), complete: {access_configuration: {api_key: expect.stringMatching(/^phc_[A-Za-z0-9]{43}$/), host: 'https://us.posthog.com'}}})
    const user = mock.control.snapshot().users.find((candidate) => candidate.email === 'p@example.com')!
    expect(user.teams).toContainEqual({id: Number(body.id), name: 'My app'})
  })

  it('401 unauthorized "Access token expired" for an expired token; 401 without one', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'p@example.com', scopes: ['user:read']})
    mock.control.expireTokens()
    expect(await provisioningErrorOf(await provision(mock, tokens.access_token))).toEqual({status: 401, code: 'unauthorized', message: 'Access token expired'})
    expect(await provisioningErrorOf(await provision(mock, undefined))).toMatchObject({status: 401, code: 'unauthorized'})
  })

  it('a partner that may not provision resources -> 403', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'p@example.com', scopes: ['user:read']})
    mock.control.upsertApp({client_id: US_CLIENT, provisioning: {can_provision_resources: false}})
    expect(await provisioningErrorOf(await provision(mock, tokens.access_token))).toMatchObject({status: 403})
  })
})
