/** server.md section 4.2, POST /api/agentic/oauth/token: the code exchange table row by row, refresh without grace, lifetimes. */
import {describe, expect, it} from 'vitest'

import {
  accountRequest,
  directMint,
  grantedScopes,
  introspect,
  login,
  pkce,
  postJson,
  provisioningToken,
  rateLimitOf,
  resourcesRequest,
  signupTokens,
  startMock,
  statusErrorOf,
  TOKEN_PATTERN,
  US_CLIENT,
  useMsw,
} from './helpers.js'

useMsw()

type Mock = ReturnType<typeof startMock>

const exchange = (mock: Mock, fields: Record<string, string>) => provisioningToken(mock, {grant_type: 'authorization_code', ...fields})
const refreshWith = (mock: Mock, refreshToken: string) => provisioningToken(mock, {grant_type: 'refresh_token', refresh_token: refreshToken})

async function oauthErrorOf(response: Response): Promise<{status: number; error: string; error_description: string}> {
  return {status: response.status, ...((await response.json()) as {error: string; error_description: string})}
}

describe('authorization_code: the checks, in order', () => {
  it('no code -> 400 invalid_request "code is required"', async () => {
    const mock = startMock()
    expect(await oauthErrorOf(await exchange(mock, {code_verifier: pkce().verifier}))).toEqual({status: 400, error: 'invalid_request', error_description: 'code is required'})
  })

  it('unknown, used or expired -> 400 invalid_grant "Invalid or expired authorization code"', async () => {
    const mock = startMock()
    const expected = {status: 400, error: 'invalid_grant', error_description: 'Invalid or expired authorization code'}
    expect(await oauthErrorOf(await exchange(mock, {code: 'nope', code_verifier: pkce().verifier}))).toEqual(expected)
    const used = await directMint(mock, {email: 'used@example.com', scopes: ['user:read']})
    expect((await exchange(mock, {code: used.code, code_verifier: used.verifier})).status).toBe(200)
    expect(await oauthErrorOf(await exchange(mock, {code: used.code, code_verifier: used.verifier}))).toEqual(expected)
    const expired = await directMint(mock, {email: 'expired@example.com', scopes: ['user:read']})
    mock.clock.advance(300)
    expect(await oauthErrorOf(await exchange(mock, {code: expired.code, code_verifier: expired.verifier}))).toEqual(expected)
  })

  it('a code minted without a challenge -> 401 invalid_request "Authentication required" (public partner)', async () => {
    const mock = startMock()
    const {oauth} = (await (await accountRequest(mock, {email: 'nopkce@example.com', scopes: ['user:read']})).json()) as {oauth: {code: string}}
    expect(await oauthErrorOf(await exchange(mock, {code: oauth.code}))).toEqual({status: 401, error: 'invalid_request', error_description: 'Authentication required'})
  })

  it('no verifier -> 401; verifier mismatch -> 400; neither consumes the code', async () => {
    const mock = startMock()
    const {code, verifier} = await directMint(mock, {scopes: ['user:read']})
    expect(await oauthErrorOf(await exchange(mock, {code}))).toEqual({status: 401, error: 'invalid_request', error_description: 'code_verifier is required for PKCE'})
    expect(await oauthErrorOf(await exchange(mock, {code, code_verifier: pkce().verifier}))).toEqual({
      status: 400,
      error: 'invalid_grant',
      error_description: 'PKCE code_verifier does not match',
    })
    expect((await exchange(mock, {code, code_verifier: verifier})).status).toBe(200)
  })

  it('partner gone -> invalid_grant "Unknown application for this authorization code"', async () => {
    const mock = startMock()
    const {code, verifier} = await directMint(mock, {scopes: ['user:read']})
    mock.state.apps.delete(US_CLIENT)
    expect(await oauthErrorOf(await exchange(mock, {code, code_verifier: verifier}))).toMatchObject({error: 'invalid_grant', error_description: 'Unknown application for this authorization code'})
  })

  it('the code is consumed, THEN the token_exchanges bucket is charged: a 429 is typed and the code is gone', async () => {
    const mock = startMock()
    const {code, verifier} = await directMint(mock, {scopes: ['user:read']})
    mock.control.configure({empty_buckets: ['token_exchanges']})
    const limited = await exchange(mock, {code, code_verifier: verifier})
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBe(180)
    expect(rateLimitOf(limited)).toMatchObject({limit: 10, remaining: 0})
    expect(await limited.json()).toEqual({type: 'error', error: {code: 'rate_limited', message: expect.stringContaining('Rate limit exceeded for this partner')}})
    mock.control.configure({rate_limit: false})
    expect(await oauthErrorOf(await exchange(mock, {code, code_verifier: verifier}))).toMatchObject({error: 'invalid_grant'})
  })

  it('user gone -> invalid_grant "User not found"', async () => {
    const mock = startMock()
    const {code, verifier} = await directMint(mock, {email: 'gone@example.com', scopes: ['user:read']})
    mock.state.users.delete('gone@example.com')
    expect(await oauthErrorOf(await exchange(mock, {code, code_verifier: verifier}))).toMatchObject({error: 'invalid_grant', error_description: 'User not found'})
  })

  it('app sessions revoked -> invalid_grant "Application sessions were revoked; re-authorize."', async () => {
    const mock = startMock()
    const {code, verifier} = await directMint(mock, {scopes: ['user:read']})
    mock.clock.advance(1)
    mock.control.upsertApp({client_id: US_CLIENT, revoke_sessions: true})
    expect(await oauthErrorOf(await exchange(mock, {code, code_verifier: verifier}))).toMatchObject({
      error: 'invalid_grant',
      error_description: 'Application sessions were revoked; re-authorize.',
    })
  })

  it('scopes outside the ceiling -> invalid_scope, the code consumed, the charge refunded', async () => {
    const mock = startMock()
    const {code, verifier} = await directMint(mock, {scopes: ['user:read', 'llm_gateway:write']})
    const response = await exchange(mock, {code, code_verifier: verifier})
    expect(rateLimitOf(response)).toMatchObject({limit: 10, remaining: 10})
    expect(await oauthErrorOf(response)).toEqual({status: 400, error: 'invalid_scope', error_description: "Requested scopes exceed the application's allowed scopes"})
    expect(await oauthErrorOf(await exchange(mock, {code, code_verifier: verifier}))).toMatchObject({error: 'invalid_grant'})
    expect(mock.control.events().map((event) => event.event)).toContain('provisioning.token.invalid_scope')
  })

  it('no accessible teams -> invalid_grant "No accessible teams for this authorization; re-authorize."', async () => {
    const mock = startMock()
    const {code, verifier} = await directMint(mock, {email: 'teamless@example.com', scopes: ['user:read']})
    mock.state.users.get('teamless@example.com')!.teams = []
    expect(await oauthErrorOf(await exchange(mock, {code, code_verifier: verifier}))).toMatchObject({
      error: 'invalid_grant',
      error_description: 'No accessible teams for this authorization; re-authorize.',
    })
  })
})

describe('authorization_code: success', () => {
  it('200 {token_type:"bearer", tokens, expires_in:3600, account{id: org id, payment_credentials, available_teams}} and NO scope', async () => {
    const mock = startMock()
    const {code, verifier} = await directMint(mock, {email: 'ok@example.com', scopes: ['user:read', 'project:read']})
    const response = await exchange(mock, {code, code_verifier: verifier})
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(rateLimitOf(response)).toMatchObject({limit: 10, remaining: 9})
    const user = mock.control.snapshot().users.find((candidate) => candidate.email === 'ok@example.com')!
    expect(await response.json()).toEqual({
      token_type: 'bearer',
      access_token: expect.stringMatching(TOKEN_PATTERN.access),
      refresh_token: expect.stringMatching(TOKEN_PATTERN.refresh),
      expires_in: 3600,
      account: {
        id: user.organization.id,
        payment_credentials: 'orchestrator',
        available_teams: [{id: user.teams[0]!.id, name: 'Default project', organization_id: user.organization.id, organization_name: 'New Org'}],
      },
    })
  })

  it('JSON bodies work too; other grant types -> unsupported_grant_type "Unsupported grant_type: <v>"', async () => {
    const mock = startMock()
    const {code, verifier} = await directMint(mock, {scopes: ['user:read']})
    expect((await postJson(`${mock.issuer}/api/agentic/oauth/token`, {grant_type: 'authorization_code', code, code_verifier: verifier})).status).toBe(200)
    expect(await oauthErrorOf(await provisioningToken(mock, {grant_type: 'client_credentials'}))).toEqual({
      status: 400,
      error: 'unsupported_grant_type',
      error_description: 'Unsupported grant_type: client_credentials',
    })
  })

  it('introspection (RFC 7662) reads a provisioning token back with its real scope and team', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'i@example.com', scopes: ['user:read', 'llm_gateway:read']})
    const team = mock.control.snapshot().users.find((user) => user.email === 'i@example.com')!.teams[0]!.id
    expect(await introspect(mock, tokens.access_token)).toMatchObject({active: true, scope: 'user:read llm_gateway:read', client_id: US_CLIENT, scoped_teams: [team]})
  })
})

describe('refresh_token', () => {
  it('missing -> invalid_request; unknown -> invalid_grant', async () => {
    const mock = startMock()
    expect(await oauthErrorOf(await provisioningToken(mock, {grant_type: 'refresh_token'}))).toEqual({status: 400, error: 'invalid_request', error_description: 'refresh_token is required'})
    expect(await oauthErrorOf(await refreshWith(mock, 'phr_unknown'))).toEqual({status: 400, error: 'invalid_grant', error_description: 'Invalid or revoked refresh token'})
  })

  it('rotates: {token_type, access_token, refresh_token, expires_in} only, RateLimit headers of token_refreshes', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'r@example.com', scopes: ['user:read']})
    const response = await refreshWith(mock, tokens.refresh_token)
    expect(rateLimitOf(response)).toMatchObject({limit: 30, remaining: 29})
    expect(await response.json()).toEqual({token_type: 'bearer', access_token: expect.stringMatching(TOKEN_PATTERN.access), refresh_token: expect.stringMatching(TOKEN_PATTERN.refresh), expires_in: 3600})
    expect(mock.control.snapshot().counters.grants['provisioning:refresh_token']).toBe(1)
    expect(mock.control.snapshot().counters.provisioning.token_requests).toEqual({authorization_code: 1, refresh_token: 1, other: 0})
  })

  it('NO grace period: the old access token is deleted at once, a replay of the old refresh token -> invalid_grant', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'r@example.com', scopes: ['user:read']})
    const rotated = (await (await refreshWith(mock, tokens.refresh_token)).json()) as {access_token: string; refresh_token: string}
    // Deleted, so it cannot even introspect itself: the bare 403 (posthog/api/oauth/views.py verify_request).
    expect(await introspect(mock, tokens.access_token)).toEqual({status: 403})
    expect(await statusErrorOf(await resourcesRequest(mock, tokens.access_token))).toMatchObject({status: 401, message: 'Invalid access token'})
    expect(await oauthErrorOf(await refreshWith(mock, tokens.refresh_token))).toEqual({status: 400, error: 'invalid_grant', error_description: 'Invalid or revoked refresh token'})
    expect((await resourcesRequest(mock, rotated.access_token)).status).toBe(200)
    expect((await refreshWith(mock, rotated.refresh_token)).status).toBe(200)
  })

  it('two refreshes at once: one wins, the other gets invalid_grant', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'race@example.com', scopes: ['user:read']})
    const results = await Promise.all([0, 1].map(() => refreshWith(mock, tokens.refresh_token)))
    expect(results.map((response) => response.status).sort()).toEqual([200, 400])
  })

  it('narrows silently when partly outside the ceiling; invalid_grant when nothing is left', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'n@example.com', scopes: ['user:read', 'insight:write']})
    mock.control.upsertApp({client_id: US_CLIENT, scopes: ['user:read']})
    const narrowed = (await (await refreshWith(mock, tokens.refresh_token)).json()) as {access_token: string; refresh_token: string}
    expect(await grantedScopes(mock, narrowed.access_token)).toEqual(['user:read'])
    mock.control.upsertApp({client_id: US_CLIENT, scopes: ['project:read']})
    expect(await oauthErrorOf(await refreshWith(mock, narrowed.refresh_token))).toEqual({
      status: 400,
      error: 'invalid_grant',
      error_description: "Token scopes are no longer within the application's allowed scopes; re-authorize.",
    })
  })

  it('no accessible teams -> "No accessible teams for this token; re-authorize."; sessions revoked -> invalid_grant', async () => {
    const mock = startMock()
    const a = await signupTokens(mock, {email: 'a@example.com', scopes: ['user:read']})
    mock.state.users.get('a@example.com')!.teams = []
    expect(await oauthErrorOf(await refreshWith(mock, a.refresh_token))).toMatchObject({error_description: 'No accessible teams for this token; re-authorize.'})
    const b = await signupTokens(mock, {email: 'b@example.com', scopes: ['user:read']})
    mock.clock.advance(1)
    mock.control.upsertApp({client_id: US_CLIENT, revoke_sessions: true})
    expect(await oauthErrorOf(await refreshWith(mock, b.refresh_token))).toMatchObject({error_description: 'Application sessions were revoked; re-authorize.'})
  })

  it('the token_refreshes bucket: an empty one -> typed 429 with Retry-After, and the refresh token still works later', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'b@example.com', scopes: ['user:read']})
    mock.control.configure({empty_buckets: 'token_refreshes'})
    const limited = await refreshWith(mock, tokens.refresh_token)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('30')
    expect(await limited.json()).toMatchObject({type: 'error', error: {code: 'rate_limited'}})
    mock.clock.advance(30)
    expect((await refreshWith(mock, tokens.refresh_token)).status).toBe(200)
  })

  it('an /oauth/token refresh token is not accepted here', async () => {
    const mock = startMock({autoApprove: true})
    const tokens = await login(mock, {scope: 'user:read'})
    expect(await oauthErrorOf(await refreshWith(mock, tokens.refresh_token))).toMatchObject({error: 'invalid_grant'})
  })
})
