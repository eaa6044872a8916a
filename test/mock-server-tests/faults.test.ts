import {describe, expect, it} from 'vitest'

import {accountRequest, get, login, postForm, provisioningToken, signupTokens, startMock, US_CLIENT, useMsw} from './helpers.js'

useMsw()

const METADATA = '/.well-known/oauth-authorization-server'

describe('fault injection', () => {
  it('503 temporarily_unavailable with Retry-After: 1 for the next N requests, then normal again', async () => {
    const mock = startMock()
    mock.control.configure({fail_next: {path: METADATA, status: 503, count: 2}})
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await get(`${mock.issuer}${METADATA}`)
      expect(response.status).toBe(503)
      expect(response.headers.get('retry-after')).toBe('1')
      expect(await response.json()).toMatchObject({error: 'temporarily_unavailable'})
    }
    expect((await get(`${mock.issuer}${METADATA}`)).status).toBe(200)
  })

  it('matches the path with or without its trailing slash, and only that path', async () => {
    const mock = startMock()
    mock.control.configure({fail_next: {path: '/oauth/token/', status: 500}})
    expect((await get(`${mock.issuer}${METADATA}`)).status).toBe(200)
    const failed = await postForm(`${mock.issuer}/oauth/token`, {grant_type: 'refresh_token', refresh_token: 'x', client_id: US_CLIENT})
    expect(failed.status).toBe(500)
    expect(await failed.json()).toMatchObject({error: 'server_error'})
  })

  it('429 with the given Retry-After, in the provisioning error format on provisioning paths', async () => {
    const mock = startMock()
    mock.control.configure({fail_next: {path: '/api/agentic/provisioning/account_requests', status: 429, retry_after: 7}})
    const response = await accountRequest(mock, {email: 'x@example.com'})
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('7')
    expect(await response.json()).toEqual({type: 'error', error: {code: 'rate_limited', message: expect.any(String)}})
  })

  it('malformed: 200 with a JSON content type and a body that does not parse', async () => {
    const mock = startMock()
    mock.control.configure({fail_next: {path: METADATA, malformed: true}})
    const response = await get(`${mock.issuer}${METADATA}`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('application/json')
    await expect(response.json()).rejects.toThrow()
  })

  it('a fault may target one method only; several faults queue', async () => {
    const mock = startMock()
    mock.control.configure({fail_next: [{path: '/oauth/token', method: 'GET', status: 500}, {path: METADATA, status: 500}]})
    expect((await postForm(`${mock.issuer}/oauth/token`, {grant_type: 'x', client_id: US_CLIENT})).status).toBe(400)
    expect((await get(`${mock.issuer}${METADATA}`)).status).toBe(500)
    expect(mock.state.faults.map((fault) => fault.method)).toEqual(['GET'])
  })

  it('added latency delays every answer', async () => {
    const mock = startMock()
    mock.control.configure({latency_ms: 150})
    const started = performance.now()
    await get(`${mock.issuer}${METADATA}`)
    expect(performance.now() - started).toBeGreaterThanOrEqual(140)
  })

  it('rejects a fault without a path', () => {
    const mock = startMock()
    expect(() => mock.control.configure({fail_next: {path: ''}})).toThrow(/path/)
  })
})

describe('request counters', () => {
  it('count per "METHOD path" as received, faults included, /__mock/ excluded', async () => {
    const mock = startMock()
    mock.control.configure({fail_next: {path: METADATA, status: 503}})
    await get(`${mock.issuer}${METADATA}`)
    await get(`${mock.issuer}${METADATA}`)
    await get(`${mock.issuer}${METADATA}/`)
    await get(`${mock.issuer}/__mock/state`)
    const {requests} = mock.control.snapshot().counters
    expect(requests).toEqual({[`GET ${METADATA}`]: 2, [`GET ${METADATA}/`]: 1})
  })

  it('count grants per grant type and revocations', async () => {
    const mock = startMock({autoApprove: true})
    const tokens = await login(mock, {scope: 'user:read'})
    await postForm(`${mock.issuer}/oauth/token/`, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: US_CLIENT})
    await postForm(`${mock.issuer}/oauth/token/`, {grant_type: 'refresh_token', refresh_token: 'phr_unknown', client_id: US_CLIENT})
    expect(mock.control.snapshot().counters).toMatchObject({
      grants: {authorization_code: 1, refresh_token: 1, 'provisioning:authorization_code': 0, 'provisioning:refresh_token': 0},
      revocations: 0,
      requests: {'GET /oauth/authorize/': 1, 'POST /oauth/token/': 3},
    })
  })
})

describe('fault injection on the provisioning endpoints (the envelope of each family)', () => {
  it('account_requests: 500 account_creation_failed, typed; a malformed 200', async () => {
    const mock = startMock()
    mock.control.configure({fail_next: [{path: '/api/agentic/provisioning/account_requests'}, {path: '/api/agentic/provisioning/account_requests', malformed: true}]})
    const failed = await accountRequest(mock, {email: 'x@example.com'})
    expect(failed.status).toBe(500)
    expect(await failed.json()).toEqual({type: 'error', error: {code: 'account_creation_failed', message: 'Failed to create account'}})
    const malformed = await accountRequest(mock, {email: 'x@example.com'})
    expect(malformed.status).toBe(200)
    await expect(malformed.json()).rejects.toThrow()
    expect(mock.control.snapshot().totals.users).toBe(1)
  })

  it('the provisioning token endpoint: 5xx in the OAuth format, 429 typed; code and message can be chosen', async () => {
    const mock = startMock()
    mock.control.configure({
      fail_next: [
        {path: '/api/agentic/oauth/token', status: 502},
        {path: '/api/agentic/oauth/token', status: 429, retry_after: 3},
        {path: '/api/agentic/oauth/token', status: 400, code: 'invalid_grant', message: 'Invalid or revoked refresh token'},
      ],
    })
    const url = `${mock.issuer}/api/agentic/oauth/token`
    const send = () => postForm(url, {grant_type: 'refresh_token', refresh_token: 'x'})
    expect(await (await send()).json()).toEqual({error: 'server_error', error_description: 'Injected server error.'})
    const limited = await send()
    expect(limited.headers.get('retry-after')).toBe('3')
    expect(await limited.json()).toMatchObject({type: 'error', error: {code: 'rate_limited'}})
    expect(await (await send()).json()).toEqual({error: 'invalid_grant', error_description: 'Invalid or revoked refresh token'})
  })

  it('the handlers count what reaches them (faulted requests count as requests only)', async () => {
    const mock = startMock()
    mock.control.configure({fail_next: {path: '/api/agentic/provisioning/account_requests', status: 503}})
    await accountRequest(mock, {email: 'a@example.com'})
    await accountRequest(mock, {email: 'a@example.com'})
    const {counters} = mock.control.snapshot()
    expect(counters.requests['POST /api/agentic/provisioning/account_requests']).toBe(2)
    expect(counters.provisioning).toMatchObject({account_requests: 1, accounts_created: 1})
  })
})

describe('after_handler faults: a response lost on the way back', () => {
  it('account_requests: the account is created, the client sees a 502; the retry with the same id answers requires_auth', async () => {
    const mock = startMock()
    mock.control.configure({fail_next: {path: '/api/agentic/provisioning/account_requests', status: 502, after_handler: true}})
    const request = {id: 'lost-1', email: 'lost@example.com', scopes: ['user:read'], code_challenge: 'a'.repeat(43)}
    const lost = await accountRequest(mock, request)
    expect(lost.status).toBe(502)
    expect(mock.control.snapshot().counters.provisioning.accounts_created).toBe(1)
    expect(await (await accountRequest(mock, request)).json()).toMatchObject({id: 'lost-1', type: 'requires_auth'})
  })

  it('the provisioning refresh: rotated on the server, the answer lost, the old refresh token dead (no grace)', async () => {
    const mock = startMock()
    const tokens = await signupTokens(mock, {email: 'r@example.com', scopes: ['user:read']})
    mock.control.configure({fail_next: {path: '/api/agentic/oauth/token', malformed: true, after_handler: true}})
    const lost = await provisioningToken(mock, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token})
    await expect(lost.json()).rejects.toThrow()
    expect(await (await provisioningToken(mock, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token})).json()).toMatchObject({error: 'invalid_grant'})
  })
})
