import {createPublicKey, verify} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import {
  authorizeAndConsent,
  CALLBACK,
  get,
  introspect,
  login,
  me,
  postJson,
  refresh,
  startMock,
  TOKEN_PATTERN,
  tokenRequest,
  US_CLIENT,
  useMsw,
  type TokenBody,
} from './helpers.js'

useMsw()

async function codeFor(mock: ReturnType<typeof startMock>, scope = 'user:read project:read') {
  const {params, verifier, redirectUri} = await authorizeAndConsent(mock, {scope})
  return {code: params.get('code')!, verifier, redirectUri}
}

function exchange(mock: ReturnType<typeof startMock>, {code, verifier, redirectUri}: {code: string; verifier?: string; redirectUri?: string}, extra: Record<string, string> = {}) {
  const fields: Record<string, string> = {grant_type: 'authorization_code', code, redirect_uri: redirectUri ?? CALLBACK, client_id: US_CLIENT, ...extra}
  if (verifier !== undefined) fields.code_verifier = verifier
  return tokenRequest(mock, fields)
}

async function oauthErrorOf(response: Response): Promise<{status: number; error: string; error_description: string}> {
  const body = (await response.json()) as {error: string; error_description: string}
  return {status: response.status, ...body}
}

describe('/oauth/token: authorization_code', () => {
  it('success: the documented body, PostHog token formats, Cloud fields, no-store', async () => {
    const mock = startMock()
    const response = await exchange(mock, await codeFor(mock))
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const body = (await response.json()) as TokenBody
    expect(body).toEqual({
      access_token: expect.stringMatching(TOKEN_PATTERN.access),
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'user:read project:read',
      refresh_token: expect.stringMatching(TOKEN_PATTERN.refresh),
      scoped_teams: [1],
      scoped_organizations: [mock.control.snapshot().users[0]!.organization.id],
      posthog_region: 'us',
      posthog_base_url: 'https://us.posthog.com',
    })
    expect(mock.control.snapshot().counters.grants.authorization_code).toBe(1)
  })

  it('accepts a JSON body as well as a form', async () => {
    const mock = startMock()
    const {code, verifier} = await codeFor(mock)
    const response = await postJson(`${mock.issuer}/oauth/token`, {grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK, client_id: US_CLIENT})
    expect(response.status).toBe(200)
  })

  it('a self-hosted issuer adds no posthog_region', async () => {
    const mock = startMock({issuer: 'https://posthog.internal.example'})
    const body = await login(mock, {scope: 'user:read'})
    expect(body).not.toHaveProperty('posthog_region')
  })

  it('missing code_verifier -> invalid_request', async () => {
    const mock = startMock()
    const {code} = await codeFor(mock)
    expect(await oauthErrorOf(await exchange(mock, {code}))).toMatchObject({status: 400, error: 'invalid_request'})
  })

  it('wrong code_verifier -> invalid_grant, and the code still works afterwards', async () => {
    const mock = startMock()
    const grant = await codeFor(mock)
    expect(await oauthErrorOf(await exchange(mock, {...grant, verifier: 'x'.repeat(43)}))).toMatchObject({status: 400, error: 'invalid_grant'})
    expect((await exchange(mock, grant)).status).toBe(200)
  })

  it('reused code -> invalid_grant "Authorization code is invalid or has already been used"', async () => {
    const mock = startMock()
    const grant = await codeFor(mock)
    expect((await exchange(mock, grant)).status).toBe(200)
    expect(await oauthErrorOf(await exchange(mock, grant))).toEqual({status: 400, error: 'invalid_grant', error_description: 'Authorization code is invalid or has already been used'})
  })

  it('codes live 300 s', async () => {
    const mock = startMock()
    const fresh = await codeFor(mock)
    const stale = await codeFor(mock)
    mock.clock.advance(299)
    expect((await exchange(mock, fresh)).status).toBe(200)
    mock.clock.advance(1)
    expect(await oauthErrorOf(await exchange(mock, stale))).toMatchObject({error: 'invalid_grant'})
  })

  it('redirect_uri must equal the authorize one (including the loopback port)', async () => {
    const mock = startMock()
    const {params, verifier} = await authorizeAndConsent(mock, {scope: 'user:read', redirectUri: 'http://127.0.0.1:5001/callback'})
    const code = params.get('code')!
    expect(await oauthErrorOf(await exchange(mock, {code, verifier, redirectUri: 'http://127.0.0.1:5002/callback'}))).toMatchObject({error: 'invalid_grant'})
    expect((await exchange(mock, {code, verifier, redirectUri: 'http://127.0.0.1:5001/callback'})).status).toBe(200)
  })

  it('unknown or missing client_id -> 401 invalid_client; another client\'s code -> invalid_grant', async () => {
    const mock = startMock()
    const grant = await codeFor(mock)
    expect(await oauthErrorOf(await exchange(mock, grant, {client_id: 'nobody'}))).toMatchObject({status: 401, error: 'invalid_client'})
    mock.control.upsertApp({client_id: 'other-app', redirect_uris: [CALLBACK]})
    expect(await oauthErrorOf(await exchange(mock, grant, {client_id: 'other-app'}))).toMatchObject({status: 400, error: 'invalid_grant'})
    const noClient = await tokenRequest(mock, {grant_type: 'authorization_code', code: grant.code, code_verifier: grant.verifier, redirect_uri: CALLBACK})
    expect(noClient.status).toBe(401)
  })

  it('grant_type missing -> invalid_request; unknown -> unsupported_grant_type', async () => {
    const mock = startMock()
    expect(await oauthErrorOf(await tokenRequest(mock, {client_id: US_CLIENT}))).toMatchObject({status: 400, error: 'invalid_request'})
    expect(await oauthErrorOf(await tokenRequest(mock, {grant_type: 'password', client_id: US_CLIENT}))).toMatchObject({status: 400, error: 'unsupported_grant_type'})
  })

  it('openid -> an RS256 id_token verifiable with jwks_uri, with iss, sub, aud, iat, exp, email and nonce', async () => {
    const mock = startMock()
    const body = await login(mock, {scope: 'openid email user:read', nonce: 'nonce-42'})
    const [header, payload, signature] = body.id_token!.split('.')
    const jwks = (await (await get(`${mock.issuer}/.well-known/jwks.json`)).json()) as {keys: Array<Record<string, string>>}
    const decodedHeader = JSON.parse(Buffer.from(header!, 'base64url').toString()) as Record<string, string>
    expect(decodedHeader).toMatchObject({alg: 'RS256', kid: jwks.keys[0]!.kid})
    const key = createPublicKey({key: jwks.keys[0]!, format: 'jwk'})
    expect(verify('sha256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature!, 'base64url'))).toBe(true)
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>
    const user = (await (await me(mock, body.access_token)).json()) as {uuid: string}
    const now = Math.floor(Date.UTC(2026, 10, 23, 12) / 1000)
    expect(claims).toMatchObject({iss: 'https://us.posthog.com', sub: user.uuid, aud: US_CLIENT, iat: now, exp: now + 3600, email: 'dev@example.com', nonce: 'nonce-42'})
  })

  it('no openid -> no id_token', async () => {
    const mock = startMock()
    expect(await login(mock, {scope: 'user:read'})).not.toHaveProperty('id_token')
  })
})

describe('/oauth/token: refresh_token', () => {
  it('rotates: a new pair, the old access token stops working, the new one works', async () => {
    const mock = startMock()
    const first = await login(mock, {scope: 'user:read'})
    const response = await refresh(mock, first.refresh_token)
    expect(response.status).toBe(200)
    const second = (await response.json()) as TokenBody
    expect(second.access_token).toMatch(TOKEN_PATTERN.access)
    expect(second.refresh_token).not.toBe(first.refresh_token)
    expect(second.scope).toBe('user:read')
    expect((await me(mock, first.access_token)).status).toBe(401)
    expect((await me(mock, second.access_token)).status).toBe(200)
    expect(mock.control.snapshot().counters.grants.refresh_token).toBe(1)
  })

  it('grace period: a rotated token replayed within 120 s gets the pair its rotation issued', async () => {
    const mock = startMock()
    const first = await login(mock, {scope: 'user:read'})
    const second = (await (await refresh(mock, first.refresh_token)).json()) as TokenBody
    mock.clock.advance(120)
    const replay = await refresh(mock, first.refresh_token)
    expect(replay.status).toBe(200)
    expect(await replay.json()).toMatchObject({access_token: second.access_token, refresh_token: second.refresh_token, scope: 'user:read'})
    expect((await me(mock, second.access_token)).status).toBe(200)
  })

  it('reuse detection: a rotated token replayed after 120 s revokes the whole family', async () => {
    const mock = startMock()
    const first = await login(mock, {scope: 'user:read'})
    const second = (await (await refresh(mock, first.refresh_token)).json()) as TokenBody
    mock.clock.advance(121)
    expect(await oauthErrorOf(await refresh(mock, first.refresh_token))).toMatchObject({status: 400, error: 'invalid_grant'})
    expect((await me(mock, second.access_token)).status).toBe(401)
    expect(await oauthErrorOf(await refresh(mock, second.refresh_token))).toMatchObject({error: 'invalid_grant'})
    expect(mock.control.events().some((event) => event.event === 'oauth.token.refresh_reuse_detected' && event.level === 'warn')).toBe(true)
  })

  it('another family is not touched by reuse detection', async () => {
    const mock = startMock()
    const victim = await login(mock, {scope: 'user:read'})
    const bystander = await login(mock, {scope: 'user:read'})
    await refresh(mock, victim.refresh_token)
    mock.clock.advance(200)
    await refresh(mock, victim.refresh_token)
    expect((await me(mock, bystander.access_token)).status).toBe(200)
    expect((await refresh(mock, bystander.refresh_token)).status).toBe(200)
  })

  it('narrowing: after the ceiling shrinks, the refreshed scope = old AND ceiling, plus always-allowed', async () => {
    const mock = startMock()
    const first = await login(mock, {scope: 'openid user:read insight:write llm_gateway:read'})
    mock.control.upsertApp({client_id: US_CLIENT, scopes: ['user:read', 'project:read']})
    const second = (await (await refresh(mock, first.refresh_token)).json()) as TokenBody
    expect(second.scope).toBe('openid user:read')
    expect(mock.control.events().find((event) => event.event === 'oauth.token.refresh_narrowed')).toMatchObject({lost_scopes: ['insight:read', 'insight:write', 'llm_gateway:read']})
  })

  it('narrowing: nothing left -> 400 invalid_grant with PostHog\'s message', async () => {
    const mock = startMock()
    const first = await login(mock, {scope: 'openid insight:write'})
    mock.control.upsertApp({client_id: US_CLIENT, scopes: ['user:read']})
    expect(await oauthErrorOf(await refresh(mock, first.refresh_token))).toEqual({
      status: 400,
      error: 'invalid_grant',
      error_description: "Token scopes are no longer within the application's allowed scopes; re-authorize.",
    })
  })

  it('narrowing: an empty ceiling or a * token leaves the scope unchanged', async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: 'legacy', scopes: [], redirect_uris: [CALLBACK]})
    const star = await login(mock, {clientId: 'legacy', scope: '*'})
    const plain = await login(mock, {clientId: 'legacy', scope: 'insight:write'})
    mock.control.upsertApp({client_id: 'legacy', scopes: ['user:read']})
    expect(await (await refresh(mock, star.refresh_token, {client_id: 'legacy'})).json()).toMatchObject({scope: '*'})
    mock.control.upsertApp({client_id: 'legacy', scopes: []})
    expect(await (await refresh(mock, plain.refresh_token, {client_id: 'legacy'})).json()).toMatchObject({scope: 'insight:read insight:write'})
  })

  it('an optional scope parameter may narrow, never widen', async () => {
    const mock = startMock()
    const first = await login(mock, {scope: 'user:read project:read'})
    expect(await oauthErrorOf(await refresh(mock, first.refresh_token, {scope: 'user:read insight:write'}))).toMatchObject({error: 'invalid_scope'})
    expect(await (await refresh(mock, first.refresh_token, {scope: 'user:read'})).json()).toMatchObject({scope: 'user:read'})
  })

  it('the access token lives 3600 s; the refresh token 30 days', async () => {
    const mock = startMock()
    const first = await login(mock, {scope: 'user:read'})
    mock.clock.advance(3599)
    expect((await me(mock, first.access_token)).status).toBe(200)
    mock.clock.advance(1)
    expect((await me(mock, first.access_token)).status).toBe(401)
    mock.clock.advance(30 * 24 * 3600 - 3600)
    expect(await oauthErrorOf(await refresh(mock, first.refresh_token))).toMatchObject({error: 'invalid_grant'})
  })

  it('unknown refresh token or another client\'s -> invalid_grant', async () => {
    const mock = startMock()
    const first = await login(mock, {scope: 'user:read'})
    expect(await oauthErrorOf(await refresh(mock, 'phr_nope'))).toMatchObject({error: 'invalid_grant'})
    mock.control.upsertApp({client_id: 'other-app', redirect_uris: [CALLBACK]})
    expect(await oauthErrorOf(await refresh(mock, first.refresh_token, {client_id: 'other-app'}))).toMatchObject({error: 'invalid_grant'})
  })

  it('a refreshed openid token carries a fresh id_token; introspection shows the new scope', async () => {
    const mock = startMock()
    const first = await login(mock, {scope: 'openid user:read'})
    const second = (await (await refresh(mock, first.refresh_token)).json()) as TokenBody
    expect(second.id_token).toBeTruthy()
    expect(await introspect(mock, second.access_token)).toMatchObject({active: true, scope: 'openid user:read'})
  })
})
