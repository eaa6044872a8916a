import {createPublicKey} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import {HIDDEN_SCOPES, scopesSupported} from '../mock-server/scopes.js'
import {get, startMock, useMsw} from './helpers.js'

useMsw()

type Metadata = Record<string, unknown> & {scopes_supported: string[]}

async function metadata(issuer: string, path = '/.well-known/oauth-authorization-server'): Promise<Metadata> {
  const response = await get(`${issuer}${path}`)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toContain('application/json')
  return (await response.json()) as Metadata
}

describe('discovery (server.md section 1)', () => {
  it('serves RFC 8414 metadata with the endpoints advertised with a trailing slash', async () => {
    const mock = startMock()
    const body = await metadata(mock.issuer)
    expect(body).toMatchObject({
      issuer: 'https://us.posthog.com',
      authorization_endpoint: 'https://us.posthog.com/oauth/authorize/',
      token_endpoint: 'https://us.posthog.com/oauth/token/',
      userinfo_endpoint: 'https://us.posthog.com/oauth/userinfo/',
      revocation_endpoint: 'https://us.posthog.com/oauth/revoke/',
      introspection_endpoint: 'https://us.posthog.com/oauth/introspect/',
      registration_endpoint: 'https://us.posthog.com/oauth/register/',
      jwks_uri: 'https://us.posthog.com/.well-known/jwks.json',
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['none', 'client_secret_post'],
      code_challenge_methods_supported: ['S256'],
      client_id_metadata_document_supported: true,
      posthog_region: 'us',
      posthog_base_url: 'https://us.posthog.com',
    })
  })

  it('answers with a trailing slash too', async () => {
    const mock = startMock()
    expect((await metadata(mock.issuer, '/.well-known/oauth-authorization-server/')).issuer).toBe(mock.issuer)
  })

  it('derives scopes_supported from the scope model: 212 entries, no privileged, hidden, internal or *', async () => {
    const mock = startMock()
    const {scopes_supported: scopes} = await metadata(mock.issuer)
    expect(scopes).toEqual(scopesSupported())
    expect(scopes).toHaveLength(212)
    expect(scopes.slice(0, 4)).toEqual(['openid', 'profile', 'email', 'introspection'])
    expect(scopes.indexOf('dashboard:read')).toBe(scopes.indexOf('dashboard:write') - 1)
    for (const scope of ['llm_gateway:read', 'llm_gateway:write', ...HIDDEN_SCOPES, 'internal_run:read', '*']) expect(scopes, scope).not.toContain(scope)
  })

  it('serves the OIDC configuration: the same fields plus the OIDC ones', async () => {
    const mock = startMock()
    const oidc = await metadata(mock.issuer, '/.well-known/openid-configuration')
    const oauth = await metadata(mock.issuer)
    expect(oidc).toMatchObject(oauth)
    expect(oidc).toMatchObject({subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256']})
  })

  it('publishes an RS256 signing key at jwks_uri', async () => {
    const mock = startMock()
    const jwks = (await (await get(`${mock.issuer}/.well-known/jwks.json`)).json()) as {keys: Array<Record<string, string>>}
    expect(jwks.keys).toHaveLength(1)
    expect(jwks.keys[0]).toMatchObject({kty: 'RSA', alg: 'RS256', use: 'sig'})
    expect(createPublicKey({key: jwks.keys[0]!, format: 'jwk'}).asymmetricKeyType).toBe('rsa')
  })

  it('EU issuer says eu; a self-hosted issuer carries no posthog_region', async () => {
    const eu = startMock({issuer: 'https://eu.posthog.com'})
    const selfHosted = startMock({issuer: 'https://posthog.example.com'})
    expect(await metadata(eu.issuer)).toMatchObject({issuer: 'https://eu.posthog.com', posthog_region: 'eu', posthog_base_url: 'https://eu.posthog.com'})
    const own = await metadata(selfHosted.issuer)
    expect(own.issuer).toBe('https://posthog.example.com')
    expect(own).not.toHaveProperty('posthog_region')
    expect(own).not.toHaveProperty('posthog_base_url')
  })

  it('a self-hosted issuer with a path serves everything below that path', async () => {
    const mock = startMock({issuer: 'https://example.com/posthog/'})
    const body = await metadata(mock.issuer)
    expect(mock.issuer).toBe('https://example.com/posthog')
    expect(body.token_endpoint).toBe('https://example.com/posthog/oauth/token/')
  })

  it('advertises authorization_response_iss_parameter_supported only with issParameter', async () => {
    expect(await metadata(startMock().issuer)).not.toHaveProperty('authorization_response_iss_parameter_supported')
    const mock = startMock({issuer: 'https://iss.example.com', issParameter: true})
    expect(await metadata(mock.issuer)).toMatchObject({authorization_response_iss_parameter_supported: true})
  })

  it('leaves other origins alone and answers 404 / 405 on its own', async () => {
    const mock = startMock()
    await expect(fetch('https://unrelated.example.org/anything')).rejects.toThrow()
    expect((await get(`${mock.issuer}/no/such/path`)).status).toBe(404)
    const wrongMethod = await get(`${mock.issuer}/oauth/token/`)
    expect(wrongMethod.status).toBe(405)
    expect(wrongMethod.headers.get('allow')).toBe('POST')
  })
})
