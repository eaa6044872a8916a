/** server.md section 4.2, client_registration: the partner's checks, ceiling and flags; its throttles. */
import {describe, expect, it} from 'vitest'

import {WIZARD_APP_CEILING} from '../mock-server/scope-data.js'
import {CLIENT_REGISTRATION, postJson, rateLimitOf, startMock, typedErrorOf, US_CLIENT, useMsw} from './helpers.js'

useMsw()

type Mock = ReturnType<typeof startMock>

const register = (mock: Mock, clientId: string, headers: Record<string, string> = {}) => postJson(`${mock.issuer}${CLIENT_REGISTRATION}`, {client_id: clientId}, headers)

describe('client_registration: a registered provisioning partner', () => {
  it('200 with the ceiling as stored, the flags, capabilities and the passed checks', async () => {
    const mock = startMock()
    const response = await register(mock, US_CLIENT)
    expect(response.status).toBe(200)
    expect(rateLimitOf(response)).toBeNull()
    expect(await response.json()).toEqual({
      client_id: US_CLIENT,
      registered: true,
      client_type: 'public',
      token_endpoint_auth_method: 'none',
      jwks_uri: null,
      scopes: WIZARD_APP_CEILING,
      provisioning: {active: true, can_create_accounts: true, can_provision_resources: true},
      capabilities: {account_requests: true, github_grants: false, wizard_runs: false},
      // The names and details of ee/api/agentic_provisioning/views/client_registration.py.
      checks: [
        {name: 'client_exists', ok: true, detail: 'Registered by a PostHog admin'},
        {name: 'provisioning_enabled', ok: true, detail: 'Active'},
        {name: 'jwks', ok: true, detail: 'No jwks_uri, so this client authenticates with PKCE only and cannot use the GitHub grant endpoints'},
      ],
    })
  })

  it('capabilities.account_requests is active AND can_create_accounts; scopes are scopes plus optional_scopes', async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: US_CLIENT, scopes: ['user:read'], optional_scopes: ['project:read', 'user:read']})
    expect(await (await register(mock, US_CLIENT)).json()).toMatchObject({scopes: ['user:read', 'project:read'], capabilities: {account_requests: true}})
    mock.control.upsertApp({client_id: 'secretive', client_secret: 'x', provisioning: {active: true}})
    expect(await (await register(mock, 'secretive')).json()).toMatchObject({client_type: 'confidential', token_endpoint_auth_method: 'client_secret_post', capabilities: {account_requests: false}})
  })

  it('reports the flags as they are: can_create_accounts off is still a registration', async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: US_CLIENT, provisioning: {can_create_accounts: false}, scopes: ['user:read']})
    expect(await (await register(mock, US_CLIENT)).json()).toMatchObject({
      registered: true,
      scopes: ['user:read'],
      provisioning: {active: true, can_create_accounts: false, can_provision_resources: true},
      capabilities: {account_requests: false},
    })
  })

  it('no trailing slash: the slashed path is a 404', async () => {
    const mock = startMock()
    expect((await postJson(`${mock.issuer}${CLIENT_REGISTRATION}/`, {client_id: US_CLIENT})).status).toBe(404)
  })
})

describe('client_registration: 400 registration_failed, message = the first failed check', () => {
  const cases: Array<{name: string; setup: (mock: Mock) => string; message: string}> = [
    {name: 'unknown client_id', setup: () => 'nobody', message: 'No client is registered with this client_id'},
    {
      name: 'blocked',
      setup: (mock) => mock.control.upsertApp({client_id: US_CLIENT, blocked: true}).client_id,
      message: 'Provisioning is blocked for this client. Contact PostHog support if that is unexpected.',
    },
    {
      name: 'deactivated',
      setup: (mock) => mock.control.upsertApp({client_id: US_CLIENT, provisioning: {active: false}}).client_id,
      message: 'Provisioning is deactivated for this client',
    },
    {
      name: 'never enabled (no provisioning flag at all)',
      setup: (mock) => mock.control.upsertApp({client_id: 'plain-app', redirect_uris: ['http://localhost/cb']}).client_id,
      // An admin-registered client: the CIMD sentence about the metadata document is for CIMD clients only.
      message: 'This client is not enabled for agentic provisioning',
    },
  ]

  for (const {name, setup, message} of cases) {
    it(`${name}: typed envelope plus top-level client_id, registered:false and checks`, async () => {
      const mock = startMock()
      const clientId = setup(mock)
      const error = await typedErrorOf(await register(mock, clientId))
      expect(error).toMatchObject({status: 400, code: 'registration_failed', message})
      expect(error.body).toMatchObject({client_id: clientId, registered: false})
      const checks = error.body.checks as Array<{name: string; ok: boolean; detail: string}>
      expect(checks.find((check) => !check.ok)).toEqual({name: name === 'unknown client_id' ? 'client_exists' : 'provisioning_enabled', ok: false, detail: message})
      expect(checks.at(-1)?.ok).toBe(false)
    })
  }

  it('client_id missing -> 400 invalid_request', async () => {
    const mock = startMock()
    expect(await typedErrorOf(await postJson(`${mock.issuer}${CLIENT_REGISTRATION}`, {}))).toMatchObject({status: 400, code: 'invalid_request'})
  })
})

describe('client_registration throttles (fixed windows of an hour)', () => {
  it('30 per hour per client_id, then 429 rate_limited with Retry-After to the end of the window', async () => {
    const mock = startMock()
    for (let index = 0; index < 30; index++) expect((await register(mock, US_CLIENT)).status).toBe(200)
    mock.clock.advance(600)
    const limited = await register(mock, US_CLIENT)
    expect(limited.headers.get('retry-after')).toBe('3000')
    expect(rateLimitOf(limited)).toBeNull()
    expect(await typedErrorOf(limited)).toMatchObject({status: 429, code: 'rate_limited', message: 'Too many registration checks for this client. Try again later.'})
    mock.clock.advance(3000)
    expect((await register(mock, US_CLIENT)).status).toBe(200)
  })

  it('120 per hour per caller address, whatever the client_id', async () => {
    const mock = startMock()
    const from = {'x-forwarded-for': '203.0.113.7'}
    for (let index = 0; index < 120; index++) await register(mock, `client-${index}`, from)
    const limited = await register(mock, 'client-new', from)
    expect(Number(limited.headers.get('retry-after'))).toBe(3600)
    expect(await typedErrorOf(limited)).toMatchObject({status: 429, message: 'Too many registration checks from this address. Try again later.'})
    expect((await register(mock, US_CLIENT, {'x-forwarded-for': '198.51.100.1'})).status).toBe(200)
  })

  it('limits are configurable and can be turned off', async () => {
    const mock = startMock()
    mock.control.configure({registration_throttle: {per_client_id: 1}})
    expect((await register(mock, US_CLIENT)).status).toBe(200)
    expect((await register(mock, US_CLIENT)).status).toBe(429)
    mock.control.configure({rate_limit: false})
    expect((await register(mock, US_CLIENT)).status).toBe(200)
  })
})
