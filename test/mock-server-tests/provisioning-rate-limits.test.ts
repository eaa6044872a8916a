/** server.md section 4.3: token buckets per partner, RateLimit-* headers, refunds, typed 429s, and their controls. */
import {describe, expect, it} from 'vitest'

import {accountRequest, pkce, postJson, rateLimitOf, startMock, typedErrorOf, US_CLIENT, useMsw} from './helpers.js'

useMsw()

const MESSAGE =
  'Rate limit exceeded for this partner. Wait the number of seconds in the Retry-After header, then retry. To raise your limits, publish a JWKS document or verify your organization: https://posthog.com/docs/integrate/provisioning#rate-limits'

describe('the account_requests bucket (public tier: burst 5, 10 an hour)', () => {
  it('RateLimit-Limit/Remaining/Reset on each charged answer; the 6th in a burst -> typed 429 with Retry-After', async () => {
    const mock = startMock()
    for (let index = 0; index < 5; index++) {
      const response = await accountRequest(mock, {email: `burst${index}@example.com`})
      expect(response.status).toBe(200)
      // Reset: seconds until full again, at 10 tokens an hour (one per 360 s).
      expect(rateLimitOf(response)).toEqual({limit: 5, remaining: 4 - index, reset: 360 * (index + 1)})
    }
    const limited = await accountRequest(mock, {email: 'burst5@example.com'})
    expect(limited.headers.get('retry-after')).toBe('360')
    expect(rateLimitOf(limited)).toEqual({limit: 5, remaining: 0, reset: 1800})
    expect(await typedErrorOf(limited)).toMatchObject({status: 429, code: 'rate_limited', message: MESSAGE})
    expect(mock.control.snapshot().counters.provisioning.rate_limited).toBe(1)
  })

  it('continuous refill on the mock clock; Retry-After is whole seconds rounded up', async () => {
    const mock = startMock()
    mock.control.configure({rate_limits: {account_requests: {burst: 1, per_hour: 7}}})
    expect((await accountRequest(mock, {email: 'a@example.com'})).status).toBe(200)
    const limited = await accountRequest(mock, {email: 'b@example.com'})
    // 3600 / 7 = 514.28... s for one token.
    expect(limited.headers.get('retry-after')).toBe('515')
    mock.clock.advance(514)
    expect((await accountRequest(mock, {email: 'b@example.com'})).headers.get('retry-after')).toBe('1')
    mock.clock.advance(1)
    expect((await accountRequest(mock, {email: 'b@example.com'})).status).toBe(200)
  })

  it('refunds: invalid_* and forbidden give the token back; success and rate_limited do not', async () => {
    const mock = startMock()
    const bad = await accountRequest(mock, {email: 'a@example.com', code_challenge: 'short'})
    expect(bad.status).toBe(400)
    expect(rateLimitOf(bad)?.remaining).toBe(5)
    const existing = await accountRequest(mock, {email: 'dev@example.com'})
    expect(await typedErrorOf(existing)).toMatchObject({code: 'invalid_request'})
    const ok = await accountRequest(mock, {email: 'b@example.com'})
    expect(rateLimitOf(ok)?.remaining).toBe(4)
  })

  it('per partner: another partner has its own bucket', async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: 'partner-b', scopes: [], redirect_uris: ['http://localhost/cb'], provisioning: {active: true, can_create_accounts: true}})
    mock.control.configure({empty_buckets: [{bucket: 'account_requests', client_id: US_CLIENT}]})
    expect((await accountRequest(mock, {email: 'a@example.com'})).status).toBe(429)
    expect((await accountRequest(mock, {email: 'b@example.com', client_id: 'partner-b'})).status).toBe(200)
  })

  it('no headers when nothing was charged: rate limits off, or an unlimited override', async () => {
    const mock = startMock()
    mock.control.configure({rate_limits: {account_requests: 'unlimited'}})
    expect(rateLimitOf(await accountRequest(mock, {email: 'a@example.com'}))).toBeNull()
    mock.control.configure({rate_limits: {account_requests: null}, rate_limit: false})
    for (let index = 0; index < 8; index++) expect(rateLimitOf(await accountRequest(mock, {email: `x${index}@example.com`}))).toBeNull()
    mock.control.configure({rate_limit: true})
    expect(rateLimitOf(await accountRequest(mock, {email: 'y@example.com'}))).toMatchObject({limit: 5})
  })
})

describe('rate-limit controls over HTTP (/__mock/config)', () => {
  it('empty_buckets and rate_limits; bad input is a 400', async () => {
    const mock = startMock()
    expect((await postJson(`${mock.issuer}/__mock/config`, {empty_buckets: ['account_requests']})).status).toBe(200)
    const limited = await accountRequest(mock, {email: 'a@example.com', code_challenge: pkce().challenge})
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBe(360)
    const config = (await (await postJson(`${mock.issuer}/__mock/config`, {rate_limits: {resource_creates: {burst: 2}}})).json()) as {rate_limits: Record<string, unknown>}
    expect(config.rate_limits.resource_creates).toEqual({burst: 2, per_hour: 30})
    expect((await postJson(`${mock.issuer}/__mock/config`, {rate_limits: {nonsense: {burst: 1}}})).status).toBe(400)
    expect((await postJson(`${mock.issuer}/__mock/config`, {empty_buckets: ['nonsense']})).status).toBe(400)
  })

  it('a 429 without Retry-After: fail_next with retry_after null (typed on provisioning paths, token endpoint included)', async () => {
    const mock = startMock()
    mock.control.configure({
      fail_next: [
        {path: '/api/agentic/provisioning/account_requests', status: 429, retry_after: null},
        {path: '/api/agentic/oauth/token', status: 429, retry_after: null},
      ],
    })
    const account = await accountRequest(mock, {email: 'a@example.com'})
    expect(account.status).toBe(429)
    expect(account.headers.get('retry-after')).toBeNull()
    expect(await typedErrorOf(account)).toMatchObject({code: 'rate_limited'})
    const token = await postJson(`${mock.issuer}/api/agentic/oauth/token`, {grant_type: 'refresh_token', refresh_token: 'x'})
    expect(token.headers.get('retry-after')).toBeNull()
    expect(await typedErrorOf(token)).toMatchObject({status: 429, code: 'rate_limited'})
  })
})

describe('account_requests: the caller IP daily cap (step 6, off unless configured)', () => {
  it('-> 429 "Too many account requests from this caller", Retry-After to the end of the day window, no bucket charged', async () => {
    const mock = startMock()
    mock.control.configure({account_requests_per_ip_per_day: 1})
    expect((await accountRequest(mock, {email: 'a@example.com'})).status).toBe(200)
    mock.clock.advance(100)
    const capped = await accountRequest(mock, {email: 'b@example.com'})
    expect(capped.headers.get('retry-after')).toBe('86300')
    expect(rateLimitOf(capped)).toBeNull()
    expect(await typedErrorOf(capped)).toMatchObject({status: 429, code: 'rate_limited', message: 'Too many account requests from this caller. Try again later.'})
  })
})
