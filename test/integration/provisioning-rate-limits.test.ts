/**
 * 429 from the provisioning API (server.md 4.3, issue 10 item 7): a short Retry-After is waited out once
 * (through the injected sleep: these tests never wait), a long one fails with exit 6 and the time to
 * retry, a 429 without Retry-After says so, and RateLimit-* headers reach the log (and --verbose).
 */
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {http as msw, HttpResponse} from 'msw'
import {describe, expect, it} from 'vitest'

import {NetworkError} from '../../src/errors.js'
import {createHttp} from '../../src/http.js'
import {createLogger, type Logger} from '../../src/log.js'
import {requestAccount} from '../../src/provisioning/account-requests.js'
import type {ProvisioningDeps} from '../../src/provisioning/api.js'
import {exchangeProvisioningCode, refreshProvisioningToken} from '../../src/provisioning/token.js'
import {createMockServer, WIZARD_CLIENT_IDS} from '../mock-server/index.js'
import {mswForFile} from '../support/msw.js'

const server = mswForFile()

const CLIENT_ID = WIZARD_CLIENT_IDS.us
const SCOPES = ['user:read', 'project:read']
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0)
const ACCOUNT_REQUESTS = '/api/agentic/provisioning/account_requests'
const TOKEN = '/api/agentic/oauth/token'

/** The spec's typed 429 (server.md 4.3), with the message text of whichever server version. */
function rateLimited({retryAfter, message = 'Rate limit exceeded for this partner.', headers = {}}: {retryAfter?: number; message?: string; headers?: Record<string, string>}) {
  return HttpResponse.json({type: 'error', error: {code: 'rate_limited', message}}, {status: 429, headers: {...(retryAfter === undefined ? {} : {'retry-after': String(retryAfter)}), ...headers}})
}

function setup(logger?: Logger) {
  const mock = createMockServer({now: () => NOW})
  server.use(...mock.handlers)
  const events: Array<{name: string; fields: Record<string, unknown>}> = []
  const sleeps: number[] = []
  const sleep = async (ms: number) => void sleeps.push(ms)
  const recording: Logger = {event: (name, fields = {}) => void events.push({name, fields})}
  const deps: ProvisioningDeps = {http: createHttp({userAgent: 'onramp/test', sleep}), logger: logger ?? recording, sleep, now: () => new Date(NOW)}
  const issuer = mock.issuer
  const signup = () => requestAccount(deps, {issuer, clientId: CLIENT_ID, email: 'new@example.com', scopes: SCOPES})
  const requests = (pathname: string) => mock.control.snapshot().counters.requests[`POST ${pathname}`] ?? 0
  return {mock, deps, events, sleeps, issuer, signup, requests}
}

describe('account_requests rate limited', () => {
  it('a short Retry-After is waited once (the caller is told first), then the request goes through', async () => {
    const {mock, deps, sleeps, signup, requests} = setup()
    const told: unknown[] = []
    deps.onRateLimitWait = (wait) => void told.push(wait)
    mock.control.configure({fail_next: {path: ACCOUNT_REQUESTS, status: 429, retry_after: 3}})
    const result = await signup()
    expect(result.type).toBe('oauth')
    expect(sleeps).toEqual([3000])
    expect(told).toEqual([{step: 'account_requests', seconds: 3}])
    expect(requests(ACCOUNT_REQUESTS)).toBe(2)
  })

  it('a second 429 after the wait fails: one retry only', async () => {
    const {mock, sleeps, signup, requests} = setup()
    mock.control.configure({fail_next: {path: ACCOUNT_REQUESTS, status: 429, retry_after: 2, count: 2}})
    const error = await signup().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(NetworkError)
    expect((error as NetworkError).code).toBe('rate_limited')
    expect(sleeps).toEqual([2000])
    expect(requests(ACCOUNT_REQUESTS)).toBe(2)
  })

  it('a long Retry-After fails at once with exit 6 and the time to retry', async () => {
    const {mock, sleeps, signup, requests} = setup()
    mock.control.configure({fail_next: {path: ACCOUNT_REQUESTS, status: 429, retry_after: 3600}})
    const error = await signup().catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 6, code: 'rate_limited'})
    expect((error as Error).message).toContain('Retry after 2026-11-23T13:00:00Z (in 3600 s)')
    expect(sleeps).toEqual([])
    expect(requests(ACCOUNT_REQUESTS)).toBe(1)
  })

  it('spec shape: a 429 without Retry-After says the server did not say when', async () => {
    const {issuer, sleeps, signup} = setup()
    server.use(msw.post(`${issuer}${ACCOUNT_REQUESTS}`, () => rateLimited({message: 'Too many new client registrations. Try again later.'})))
    const error = await signup().catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 6, code: 'rate_limited'})
    expect((error as Error).message).toMatch(/no Retry-After/)
    expect(sleeps).toEqual([])
  })

  it('the decision never reads the message: any wording with a short Retry-After is waited out', async () => {
    const {issuer, sleeps, signup} = setup()
    let calls = 0
    server.use(msw.post(`${issuer}${ACCOUNT_REQUESTS}`, () => (calls++ === 0 ? rateLimited({retryAfter: 1, message: 'Slow down, partner (new wording)'}) : undefined)))
    expect((await signup()).type).toBe('oauth')
    expect(sleeps).toEqual([1000])
  })
})

describe('the token endpoint rate limited (typed 429, server.md 4.2)', () => {
  it('spec shape: the code exchange is not retried (its 429 comes after the code is consumed) and says so', async () => {
    const {issuer, deps, sleeps} = setup()
    let calls = 0
    server.use(msw.post(`${issuer}${TOKEN}`, () => (calls++, rateLimited({retryAfter: 2, headers: {'ratelimit-limit': '10', 'ratelimit-remaining': '0', 'ratelimit-reset': '120'}}))))
    const error = await exchangeProvisioningCode(deps, {issuer, code: 'c', verifier: 'v'}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 6, code: 'rate_limited'})
    expect((error as Error).message).toMatch(/code was used up/)
    expect(calls).toBe(1)
    expect(sleeps).toEqual([])
  })

  it('spec shape: a refresh with a short Retry-After is waited once and then rotates', async () => {
    const {issuer, deps, sleeps, signup} = setup()
    const account = await signup()
    if (account.type !== 'oauth') throw new Error('expected a code')
    const grant = await exchangeProvisioningCode(deps, {issuer, code: account.code, verifier: account.pkce.verifier})
    let calls = 0
    server.use(msw.post(`${issuer}${TOKEN}`, () => (calls++ === 0 ? rateLimited({retryAfter: 4}) : undefined)))
    const refreshed = await refreshProvisioningToken(deps, {issuer, refreshToken: grant.refresh_token})
    expect(refreshed.refresh_token).not.toBe(grant.refresh_token)
    expect(sleeps).toEqual([4000])
  })
})

describe('RateLimit-* headers', () => {
  it('are logged on success and on the 429, with the step', async () => {
    const {issuer, events, signup} = setup()
    let calls = 0
    server.use(
      msw.post(`${issuer}${ACCOUNT_REQUESTS}`, () =>
        calls++ === 0
          ? rateLimited({retryAfter: 1, headers: {'ratelimit-limit': '5', 'ratelimit-remaining': '0', 'ratelimit-reset': '720'}})
          : HttpResponse.json({id: 'r1', type: 'oauth', oauth: {code: 'abc'}}, {headers: {'ratelimit-limit': '5', 'ratelimit-remaining': '4', 'ratelimit-reset': '144'}}),
      ),
    )
    await signup()
    expect(events.filter((event) => event.name === 'provisioning.rate_limit').map((event) => event.fields)).toEqual([
      {step: 'account_requests', status: 429, limit: 5, remaining: 0, reset: 720},
      {step: 'account_requests', status: 200, limit: 5, remaining: 4, reset: 144},
    ])
    expect(events.find((event) => event.name === 'provisioning.rate_limited')?.fields).toMatchObject({step: 'account_requests', retry_after: 1, code: 'rate_limited'})
  })

  it('--verbose shows RateLimit-Remaining on stderr, and the log file keeps it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'onramp-ratelimit-'))
    try {
      let stderr = ''
      const logger = createLogger({file: path.join(dir, 'onramp.log'), verbose: true, stderr: {write: (chunk: string) => (stderr += chunk)}})
      const {issuer, signup} = setup(logger)
      server.use(msw.post(`${issuer}${ACCOUNT_REQUESTS}`, () => HttpResponse.json({id: 'r1', type: 'oauth', oauth: {code: 'abc'}}, {headers: {'ratelimit-limit': '5', 'ratelimit-remaining': '3', 'ratelimit-reset': '288'}})))
      await signup()
      expect(stderr).toMatch(/provisioning\.rate_limit .*remaining=3/)
      expect(readFileSync(path.join(dir, 'onramp.log'), 'utf8')).toContain('"remaining":3')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
