/** server.md section 5: the known drift and bugs, one test (or more) each. */
import {describe, expect, it} from 'vitest'

import {HISTORIC_PROVISIONING_ALLOWLIST, WIZARD_APP_CEILING} from '../mock-server/scope-data.js'
import {effectiveCeiling} from '../mock-server/scopes.js'
import {accountRequest, get, grantedScopes, login, pkce, postJson, provisioningToken, refresh, signupTokens, startMock, US_CLIENT, useMsw} from './helpers.js'

useMsw()

/** What the PostHog wizard sends at signup (scopes.json wizard_client_reference.provisioning_scopes). */
const WIZARD_SIGNUP_SCOPES = ['user:read', 'project:read', 'llm_gateway:read', 'dashboard:write', 'insight:write', 'query:read', 'notebook:write', 'event_definition:write']

async function readCeiling(mock: ReturnType<typeof startMock>): Promise<string[]> {
  const body = (await (await postJson(`${mock.issuer}/api/agentic/provisioning/client_registration`, {client_id: US_CLIENT})).json()) as {scopes: string[]}
  return body.scopes
}

describe('section 5 item 1: a signup without scopes', () => {
  it('older servers: the code carries no scopes and the token exchange refuses it', async () => {
    const mock = startMock()
    mock.control.configure({empty_signup_scopes: 'none'})
    const {verifier, challenge} = pkce()
    const {oauth} = (await (await accountRequest(mock, {email: 'old@example.com', code_challenge: challenge, code_challenge_method: 'S256'})).json()) as {oauth: {code: string}}
    const response = await provisioningToken(mock, {grant_type: 'authorization_code', code: oauth.code, code_verifier: verifier})
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({error: 'invalid_scope', error_description: 'Authorization code carries no scopes; re-authorize.'})
  })

  it("today's server fills in the ceiling, which is not what the client asked for: send the scopes", async () => {
    const mock = startMock()
    const withoutScopes = await signupTokens(mock, {email: 'a@example.com'})
    const withScopes = await signupTokens(mock, {email: 'b@example.com', scopes: ['user:read', 'project:read']})
    expect(await grantedScopes(mock, withoutScopes.access_token)).toHaveLength(effectiveCeiling(WIZARD_APP_CEILING).length)
    expect(await grantedScopes(mock, withScopes.access_token)).toEqual(['user:read', 'project:read'])
  })
})

describe('section 5 item 2: a hard-coded allowlist drifted from what the client sends', () => {
  const stages = {
    'first allowlist (no llm_gateway:read, dashboard:write, insight:write)': HISTORIC_PROVISIONING_ALLOWLIST.filter((scope) => !['llm_gateway:read', 'dashboard:write', 'insight:write'].includes(scope)),
    'later allowlist (no notebook:write)': [...HISTORIC_PROVISIONING_ALLOWLIST],
  }
  const expectedMissing: Record<string, string[]> = {
    'first allowlist (no llm_gateway:read, dashboard:write, insight:write)': ['llm_gateway:read', 'dashboard:write', 'insight:write', 'notebook:write', 'event_definition:write'],
    'later allowlist (no notebook:write)': ['notebook:write', 'event_definition:write'],
  }

  for (const [stage, allowlist] of Object.entries(stages)) {
    it(`${stage}: the server refuses the client's set, and client_registration names what is missing`, async () => {
      const mock = startMock()
      mock.control.upsertApp({client_id: US_CLIENT, scopes: allowlist})
      const ceiling = effectiveCeiling(await readCeiling(mock))
      expect(WIZARD_SIGNUP_SCOPES.filter((scope) => !ceiling.includes(scope))).toEqual(expectedMissing[stage])
      const response = await accountRequest(mock, {email: 'dev@example.com', scopes: WIZARD_SIGNUP_SCOPES, code_challenge: pkce().challenge, code_challenge_method: 'S256'})
      expect(await response.json()).toMatchObject({error: {code: 'invalid_scope'}})
    })
  }

  it("the production ceiling admits the wizard's whole set", async () => {
    const mock = startMock()
    const ceiling = effectiveCeiling(await readCeiling(mock))
    expect(WIZARD_SIGNUP_SCOPES.filter((scope) => !ceiling.includes(scope))).toEqual([])
  })
})

describe('section 5 item 3: privileged and hidden scopes are never advertised, yet granted through the ceiling', () => {
  it('absent from scopes_supported, granted by /oauth/authorize and by provisioning', async () => {
    const mock = startMock()
    const {scopes_supported: supported} = (await (await get(`${mock.issuer}/.well-known/oauth-authorization-server`)).json()) as {scopes_supported: string[]}
    const unadvertised = ['llm_gateway:read', 'wizard_session:read', 'wizard_session:write']
    for (const scope of unadvertised) expect(supported, scope).not.toContain(scope)
    expect((await login(mock, {scope: unadvertised.join(' ')})).scope).toBe(unadvertised.join(' '))
    const tokens = await signupTokens(mock, {email: 'hidden@example.com', scopes: unadvertised})
    expect(await grantedScopes(mock, tokens.access_token)).toEqual(unadvertised)
  })
})

describe('section 5 item 4: a new-user signup with out-of-ceiling scopes strands the account', () => {
  it('the account exists, the token is refused, the code is gone, and a retry hits the existing-account path', async () => {
    const mock = startMock()
    const {verifier, challenge} = pkce()
    const scopes = ['user:read', 'llm_gateway:write']
    const {oauth} = (await (await accountRequest(mock, {email: 'stranded@example.com', scopes, code_challenge: challenge, code_challenge_method: 'S256'})).json()) as {oauth: {code: string}}
    expect(mock.control.snapshot().users.map((user) => user.email)).toContain('stranded@example.com')
    const exchange = await provisioningToken(mock, {grant_type: 'authorization_code', code: oauth.code, code_verifier: verifier})
    expect(await exchange.json()).toMatchObject({error: 'invalid_scope'})
    expect(await (await provisioningToken(mock, {grant_type: 'authorization_code', code: oauth.code, code_verifier: verifier})).json()).toMatchObject({error: 'invalid_grant'})
    const retry = await accountRequest(mock, {email: 'stranded@example.com', scopes, code_challenge: challenge, code_challenge_method: 'S256'})
    expect(await retry.json()).toMatchObject({type: 'error', error: {code: 'invalid_scope'}})
    expect(mock.control.events().map((event) => event.event)).toContain('provisioning.token.invalid_scope')
  })
})

describe('section 5 item 5: an admin narrows the ceiling', () => {
  it('the next refresh narrows silently; once nothing is left it fails with invalid_grant', async () => {
    const mock = startMock({autoApprove: true})
    const first = await login(mock, {scope: 'user:read project:read llm_gateway:read'})
    mock.control.upsertApp({client_id: US_CLIENT, scopes: ['user:read', 'project:read']})
    const second = (await (await refresh(mock, first.refresh_token)).json()) as {scope: string; refresh_token: string}
    expect(second.scope).toBe('user:read project:read')
    mock.control.upsertApp({client_id: US_CLIENT, scopes: ['insight:read']})
    const third = await refresh(mock, second.refresh_token)
    expect(third.status).toBe(400)
    expect(await third.json()).toMatchObject({error: 'invalid_grant'})
  })
})

describe('section 5 item 6: provisioning refresh has no grace period', () => {
  it('two processes refreshing the same token at once: one wins, the other gets invalid_grant', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'race@example.com', scopes: ['user:read']})
    const results = await Promise.all([0, 1].map(() => provisioningToken(mock, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token})))
    expect(results.map((response) => response.status).sort()).toEqual([200, 400])
  })

  it('while /oauth/token forgives the same race (grace period): both get the same pair', async () => {
    const mock = startMock({autoApprove: true})
    const tokens = await login(mock, {scope: 'user:read'})
    const results = await Promise.all([0, 1].map(() => refresh(mock, tokens.refresh_token)))
    expect(results.map((response) => response.status)).toEqual([200, 200])
    const [a, b] = (await Promise.all(results.map((response) => response.json()))) as Array<{refresh_token: string}>
    expect(a!.refresh_token).toBe(b!.refresh_token)
  })
})
