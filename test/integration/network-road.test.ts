/**
 * Issue 19: the road between the user and the server, provoked for real with loopback servers that
 * answer as each case needs (the real createHttp over real sockets, no fetch stub): firewall and bot
 * challenge pages, passing 405/502/503/504 answers, redirects of a POST, and Retry-After values a hostile
 * server can send.
 */
import {describe, expect, it} from 'vitest'

import {NetworkError} from '../../src/errors.js'
import {createHttp, MAX_RETRY_AFTER_MS, parseRetryAfter} from '../../src/http.js'
import type {Logger} from '../../src/log.js'
import {createOAuthClient} from '../../src/oauth/client.js'
import {discover} from '../../src/oauth/discovery.js'
import {refreshProvisioningToken} from '../../src/provisioning/token.js'
import {hostileIssuerPerTest, json} from '../support/hostile-issuer.js'

const logger: Logger = {event: () => {}}
const scratch = hostileIssuerPerTest()
const issuer = scratch.issuer

function deps() {
  const cache = scratch.dir('onramp-road-')
  return {http: createHttp({userAgent: 'onramp/test', timeoutMs: 10_000}), logger, now: () => new Date(), paths: {cache}}
}

const CHALLENGE_PAGE = '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><div id="challenge-platform">Checking your browser</div></body></html>'
const METADATA = '/.well-known/oauth-authorization-server'

describe('a firewall or bot challenge answering instead of the server', () => {
  it.each([
    ['Cloudflare challenge (403, cf-mitigated: challenge)', 403, {'cf-mitigated': 'challenge'}],
    ['a WAF block page (403 HTML)', 403, {}],
    ['a challenge page (503 HTML)', 503, {}],
  ])('%s: named as such with the fix, exit 6, not retried', async (_name, status, headers) => {
    const server = await issuer({
      [METADATA]: (_request, response) => {
        response.writeHead(status, {'content-type': 'text/html; charset=UTF-8', ...headers})
        response.end(CHALLENGE_PAGE)
      },
    })
    const error = await discover(deps(), server.url).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(NetworkError)
    expect(error).toMatchObject({exit: 6, code: 'firewall_challenge'})
    const host = new URL(server.url).host
    expect((error as Error).message).toContain(`a firewall or bot challenge at ${host} answered instead of the server at ${host}`)
    expect((error as Error).message).toMatch(/another network.*HTTPS_PROXY/)
    expect(server.seen.filter((request) => request.path === METADATA)).toHaveLength(1)
  })

  it('a bare 502 HTML page from a proxy is not called a challenge', async () => {
    const server = await issuer({
      [METADATA]: (_request, response) => {
        response.writeHead(502, {'content-type': 'text/html'})
        response.end('<html><body>Bad gateway</body></html>')
      },
    })
    const error = await discover(deps(), server.url).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 6, code: 'server_unavailable'})
  })
})

describe('retries where they are safe', () => {
  it('discovery: 502 and 504 are asked again, then the metadata is read', async () => {
    let served = 0
    const server = await issuer({
      [METADATA]: (_request, response) => {
        served++
        if (served === 1) return json(response, 502, {})
        if (served === 2) return json(response, 504, {})
        json(response, 200, {issuer: server.url, authorization_endpoint: `${server.url}/authorize`, token_endpoint: `${server.url}/token`, response_types_supported: ['code']})
      },
    })
    const found = await discover(deps(), server.url)
    expect(found.metadata.token_endpoint).toBe(`${server.url}/token`)
    expect(served).toBe(3)
  })

  it('the OAuth refresh: a 405, then a 503, then the new tokens', async () => {
    let posts = 0
    const server = await issuer({
      '/token': (_request, response) => {
        posts++
        if (posts === 1) return json(response, 405, {detail: 'Method not allowed'})
        if (posts === 2) return json(response, 503, {error: 'temporarily_unavailable'})
        json(response, 200, {access_token: 'new-access-1234', token_type: 'Bearer', expires_in: 3600, refresh_token: 'new-refresh-1234'})
      },
    })
    const discovered = await discover(deps(), server.url)
    const client = createOAuthClient({discovered, clientId: 'client-1', http: deps().http})
    const tokens = await client.refresh('old-refresh-1234')
    expect(tokens.access_token).toBe('new-access-1234')
    expect(server.seen.filter((request) => request.path === '/token').map((request) => new URLSearchParams(request.body).get('refresh_token'))).toEqual([
      'old-refresh-1234',
      'old-refresh-1234',
      'old-refresh-1234',
    ])
  })

  it('the authorization code is sent once, whatever the answer (its first attempt may have used it up)', async () => {
    for (const status of [405, 502, 503, 504]) {
      const server = await issuer({'/token': (_request, response) => json(response, status, {error: 'temporarily_unavailable'}, {'retry-after': '1'})})
      const discovered = await discover(deps(), server.url)
      const client = createOAuthClient({discovered, clientId: 'client-1', http: deps().http})
      const callback = new URLSearchParams({code: 'the-code', state: 's'})
      await expect(client.exchangeCode({callback, codeVerifier: 'v'.repeat(43), state: 's', redirectUri: 'http://127.0.0.1/callback'})).rejects.toMatchObject({exit: 6})
      expect(server.seen.filter((request) => request.path === '/token'), String(status)).toHaveLength(1)
    }
  })

  it('the provisioning refresh token is sent once on 502/503/504 (no grace period there)', async () => {
    for (const status of [502, 503, 504]) {
      const server = await issuer({'/api/agentic/oauth/token': (_request, response) => json(response, status, {error: 'temporarily_unavailable'}, {'retry-after': '1'})})
      await expect(refreshProvisioningToken({...deps(), sleep: async () => {}}, {issuer: server.url, refreshToken: 'phr_once'})).rejects.toMatchObject({exit: 6})
      expect(server.seen, String(status)).toHaveLength(1)
    }
  })
})

describe('a POST answered with a redirect', () => {
  it.each([301, 302, 303, 307, 308])('%i to another origin: refused, nothing sent there, no crash', async (status) => {
    const elsewhere = await issuer({'/steal': (_request, response) => json(response, 200, {access_token: 'stolen', refresh_token: 'stolen', token_type: 'bearer', expires_in: 60})})
    const server = await issuer({
      '/api/agentic/oauth/token': (_request, response) => {
        response.writeHead(status, {location: `${elsewhere.url}/steal`})
        response.end()
      },
    })
    const error = await refreshProvisioningToken({...deps(), sleep: async () => {}}, {issuer: server.url, refreshToken: 'phr_redirected'}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 6, code: 'redirect_refused'})
    expect((error as Error).message).toMatch(/another origin/)
    expect(elsewhere.seen).toEqual([])
  })

  it.each([307, 308])('%i on the same origin: followed with the same body (no detached ArrayBuffer)', async (status) => {
    const server = await issuer({
      '/api/agentic/oauth/token': (_request, response) => {
        response.writeHead(status, {location: '/api/agentic/oauth/token2'})
        response.end()
      },
      '/api/agentic/oauth/token2': (_request, response, body) =>
        json(response, 200, {access_token: 'pha_moved', refresh_token: new URLSearchParams(body).get('refresh_token') === 'phr_moved' ? 'phr_next' : 'wrong', token_type: 'bearer', expires_in: 60}),
    })
    const tokens = await refreshProvisioningToken({...deps(), sleep: async () => {}}, {issuer: server.url, refreshToken: 'phr_moved'})
    expect(tokens).toMatchObject({access_token: 'pha_moved', refresh_token: 'phr_next'})
  })
})

describe('Retry-After from a hostile server', () => {
  it.each([
    ['9999999999999', /Retry after \d{4}-\d\d-\d\dT[\d:]+Z \(in 86400 s\)/],
    ['Sat, 13 Sep 275760 00:00:00 GMT', /Retry after \d{4}-\d\d-\d\dT[\d:]+Z \(in 86400 s\)/],
    ['-3', /Retry-After "-3" is neither seconds nor a date/],
    ['abc', /Retry-After "abc" is neither seconds nor a date/],
  ])('%s: exit 6 with a readable message, never exit 1', async (value, expected) => {
    const server = await issuer({
      '/api/agentic/oauth/token': (_request, response) => json(response, 429, {type: 'error', error: {code: 'rate_limited', message: 'Rate limit exceeded'}}, {'retry-after': value}),
    })
    const error = await refreshProvisioningToken({...deps(), sleep: async () => {}}, {issuer: server.url, refreshToken: 'phr_limited'}).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(NetworkError)
    expect(error).toMatchObject({exit: 6, code: 'rate_limited'})
    expect((error as Error).message).toMatch(expected)
  })

  it('parseRetryAfter caps at a day and refuses what is not seconds or a date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfter('9999999999999', now)).toBe(MAX_RETRY_AFTER_MS)
    expect(parseRetryAfter('Sat, 13 Sep 275760 00:00:00 GMT', now)).toBe(MAX_RETRY_AFTER_MS)
    expect(parseRetryAfter('1e400', now)).toBeUndefined()
    expect(parseRetryAfter('-3', now)).toBeUndefined()
    expect(parseRetryAfter('abc', now)).toBeUndefined()
  })
})
