/**
 * Per-surface invariants between the CLI's scope constant (src/scopes.ts) and the server the mock plays.
 * The only test that imports both sides: a change on either one that would break real users fails here,
 * with the offending scope named.
 */
import {describe, expect, it} from 'vitest'

import {isNeverAdvertised, LOGIN_SCOPES, REQUIRED_LOGIN_SCOPES, REQUIRED_SIGNUP_SCOPES, SIGNUP_SCOPES} from '../../src/scopes/constant.js'
import {effectiveCeiling, isAlwaysAllowed} from '../mock-server/scopes.js'
import {
  accountRequest,
  EU_CLIENT,
  get,
  grantedScopes,
  login,
  openConsent,
  pkce,
  postJson,
  provisioningToken,
  redirectParams,
  signupTokens,
  startMock,
  submitConsent,
  US_CLIENT,
  useMsw,
} from './helpers.js'

useMsw()

const SURFACES = [
  {surface: 'login', scopes: LOGIN_SCOPES, required: REQUIRED_LOGIN_SCOPES},
  {surface: 'signup', scopes: SIGNUP_SCOPES, required: REQUIRED_SIGNUP_SCOPES},
] as const

const WIZARD_APPS = [
  {region: 'US', issuer: 'https://us.posthog.com', clientId: US_CLIENT},
  {region: 'EU', issuer: 'https://eu.posthog.com', clientId: EU_CLIENT},
] as const

/** The wizard app's ceiling as the server reports it (client_registration), expanded by the server's rules. */
async function wizardCeiling(issuer: string, clientId: string): Promise<string[]> {
  const response = await postJson(`${issuer}/api/agentic/provisioning/client_registration`, {client_id: clientId})
  const {scopes} = (await response.json()) as {scopes: string[]}
  return effectiveCeiling(scopes)
}

async function scopesSupported(issuer: string): Promise<string[]> {
  const body = (await (await get(`${issuer}/.well-known/oauth-authorization-server`)).json()) as {scopes_supported: string[]}
  return body.scopes_supported
}

describe('the CLI scope constant against the seeded wizard app', () => {
  it('the constant is not empty and the required scopes are requested on their surface', () => {
    for (const {surface, scopes, required} of SURFACES) {
      expect(scopes.length, surface).toBeGreaterThan(0)
      expect(required.filter((scope) => !scopes.includes(scope)), `${surface}: required but not requested`).toEqual([])
    }
  })

  for (const {surface, scopes} of SURFACES) {
    for (const {region, issuer, clientId} of WIZARD_APPS) {
      it(`every ${surface} scope is inside the ${region} wizard app's effective ceiling`, async () => {
        startMock({issuer})
        const ceiling = await wizardCeiling(issuer, clientId)
        const outside = scopes.filter((scope) => !ceiling.includes(scope) && !isAlwaysAllowed(scope))
        expect(outside, `${surface} scopes outside the ${region} wizard ceiling: ${outside.join(', ')}`).toEqual([])
      })
    }

    it(`every ${surface} scope is advertised in scopes_supported or known to the CLI as never advertised`, async () => {
      const mock = startMock()
      const supported = await scopesSupported(mock.issuer)
      const unexplained = scopes.filter((scope) => !supported.includes(scope) && !isNeverAdvertised(scope))
      expect(unexplained, `${surface} scopes the server does not advertise and the CLI does not expect to be missing: ${unexplained.join(', ')}`).toEqual([])
    })

    it(`the CLI's "never advertised" ${surface} scopes really are absent from scopes_supported`, async () => {
      const mock = startMock()
      const supported = await scopesSupported(mock.issuer)
      const stale = scopes.filter((scope) => isNeverAdvertised(scope) && supported.includes(scope))
      expect(stale, `${surface} scopes the CLI believes unadvertised but the server lists: ${stale.join(', ')}`).toEqual([])
    })
  }

  it('a login asking for LOGIN_SCOPES succeeds under the reject policy and is granted all of them', async () => {
    const mock = startMock({policy: 'reject'})
    const tokens = await login(mock, {scope: LOGIN_SCOPES.join(' ')})
    const missing = LOGIN_SCOPES.filter((scope) => !tokens.scope.split(' ').includes(scope))
    expect(missing, `login scopes not granted: ${missing.join(', ')}`).toEqual([])
    expect(mock.control.events().filter((event) => event.event === 'oauth.authorize.invalid_scope')).toEqual([])
  })

  it('a new-account signup with SIGNUP_SCOPES gets a token holding exactly them', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'invariant@example.com', scopes: [...SIGNUP_SCOPES]})
    expect(await grantedScopes(mock, tokens.access_token)).toEqual([...SIGNUP_SCOPES])
  })

  it('an existing-account signup with SIGNUP_SCOPES passes the ceiling check and the consent', async () => {
    const mock = startMock()
    const {verifier, challenge} = pkce()
    const response = await accountRequest(mock, {email: 'dev@example.com', scopes: [...SIGNUP_SCOPES], code_challenge: challenge, code_challenge_method: 'S256'})
    const body = (await response.json()) as {type: string; requires_auth?: {url: string}; error?: {message: string}}
    expect(body.type, body.error?.message).toBe('requires_auth')
    const code = redirectParams(await submitConsent(await openConsent(body.requires_auth!.url), 'allow')).get('code')!
    const tokens = (await (await provisioningToken(mock, {grant_type: 'authorization_code', code, code_verifier: verifier})).json()) as {access_token: string}
    expect(await grantedScopes(mock, tokens.access_token)).toEqual([...SIGNUP_SCOPES])
  })
})
