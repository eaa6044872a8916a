/**
 * What the provisioning client does with answers that are not what server.md section 4 promises:
 * 5xx (exit 6, "retry"), bodies that are not JSON or not the expected shape (exit 6, saying what was
 * expected), error statuses without an envelope, and no answer at all.
 */
import {http as msw, HttpResponse} from 'msw'
import {describe, expect, it} from 'vitest'

import {NetworkError} from '../../src/errors.js'
import {createHttp} from '../../src/http.js'
import type {Logger} from '../../src/log.js'
import {requestAccount} from '../../src/provisioning/account-requests.js'
import type {ProvisioningDeps} from '../../src/provisioning/api.js'
import {readAppCeiling} from '../../src/provisioning/app-ceiling.js'
import {readGrantedScopes} from '../../src/provisioning/introspection.js'
import {provisionProject, showProject} from '../../src/provisioning/resources.js'
import {exchangeProvisioningCode, refreshProvisioningToken} from '../../src/provisioning/token.js'
import {createMockServer, WIZARD_CLIENT_IDS} from '../mock-server/index.js'
import {mswForFile} from '../support/msw.js'

const server = mswForFile()

const CLIENT_ID = WIZARD_CLIENT_IDS.us
const ACCOUNT_REQUESTS = '/api/agentic/provisioning/account_requests'
const TOKEN = '/api/agentic/oauth/token'
const RESOURCES = '/api/agentic/provisioning/resources'

function setup() {
  const mock = createMockServer({now: () => Date.UTC(2026, 10, 23, 12, 0, 0)})
  server.use(...mock.handlers)
  const sleeps: number[] = []
  const sleep = async (ms: number) => void sleeps.push(ms)
  const logger: Logger = {event: () => {}}
  const deps: ProvisioningDeps = {http: createHttp({userAgent: 'onramp/test', sleep}), logger, sleep}
  const issuer = mock.issuer
  const signup = () => requestAccount(deps, {issuer, clientId: CLIENT_ID, email: 'new@example.com', scopes: ['user:read']})
  const requests = (key: string) => mock.control.snapshot().counters.requests[key] ?? 0
  return {mock, deps, issuer, signup, sleeps, requests}
}

describe('5xx', () => {
  it('account_requests 500: exit 6, "retry", sent once (a POST that may have done work is not repeated)', async () => {
    const {mock, signup, requests} = setup()
    mock.control.configure({fail_next: {path: ACCOUNT_REQUESTS, status: 500}})
    const error = await signup().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(NetworkError)
    expect(error).toMatchObject({code: 'server_failed', message: expect.stringMatching(/retry/)})
    expect(requests(`POST ${ACCOUNT_REQUESTS}`)).toBe(1)
  })

  it('spec shape: account_creation_failed says no account was created', async () => {
    const {issuer, signup} = setup()
    server.use(msw.post(`${issuer}${ACCOUNT_REQUESTS}`, () => HttpResponse.json({type: 'error', id: 'r', error: {code: 'account_creation_failed', message: 'Failed to create account'}}, {status: 500})))
    await expect(signup()).rejects.toMatchObject({exit: 6, message: expect.stringContaining('No account was created')})
  })

  it('a 503 temporarily_unavailable (OAuth shape) at the token endpoint: exit 6', async () => {
    const {issuer, deps} = setup()
    server.use(msw.post(`${issuer}${TOKEN}`, () => HttpResponse.json({error: 'temporarily_unavailable', error_description: 'try later'}, {status: 503, headers: {'retry-after': '1'}})))
    await expect(refreshProvisioningToken(deps, {issuer, refreshToken: 'phr_x'})).rejects.toMatchObject({exit: 6, code: 'server_failed'})
  })

  it('a proxy 502 with an HTML page: exit 6', async () => {
    const {issuer, deps} = setup()
    server.use(msw.post(`${issuer}${RESOURCES}`, () => new HttpResponse('<html>Bad gateway</html>', {status: 502, headers: {'content-type': 'text/html'}})))
    await expect(provisionProject(deps, {issuer, accessToken: 'pha_x'})).rejects.toMatchObject({exit: 6, code: 'server_failed'})
  })

  it('client_registration 5xx throws exit 6 (scopes --check reports it), as before', async () => {
    const {mock, deps, issuer} = setup()
    mock.control.configure({fail_next: {path: '/api/agentic/provisioning/client_registration', status: 503, count: 2}})
    await expect(readAppCeiling(deps, {issuer, clientId: CLIENT_ID})).rejects.toBeInstanceOf(NetworkError)
  })
})

describe('malformed bodies', () => {
  it('a 200 cut in the middle of its JSON: exit 6 saying a JSON object was expected', async () => {
    const {mock, signup} = setup()
    mock.control.configure({fail_next: {path: ACCOUNT_REQUESTS, malformed: true}})
    const error = await signup().catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 6, code: 'malformed_response'})
    expect((error as Error).message).toMatch(/not with a JSON object/)
  })

  it('account_requests with an unknown type', async () => {
    const {issuer, signup} = setup()
    server.use(msw.post(`${issuer}${ACCOUNT_REQUESTS}`, () => HttpResponse.json({id: 'r', type: 'magic'})))
    await expect(signup()).rejects.toMatchObject({exit: 6, message: expect.stringContaining('`type` "oauth" or "requires_auth"')})
  })

  it('type oauth without a code', async () => {
    const {issuer, signup} = setup()
    server.use(msw.post(`${issuer}${ACCOUNT_REQUESTS}`, () => HttpResponse.json({id: 'r', type: 'oauth', oauth: {}})))
    await expect(signup()).rejects.toMatchObject({exit: 6, code: 'malformed_response'})
  })

  it('a token response without an account is read (the wizard schema makes it optional): account null, ask @me', async () => {
    const {issuer, deps} = setup()
    server.use(msw.post(`${issuer}${TOKEN}`, () => HttpResponse.json({token_type: 'bearer', access_token: 'pha_a', refresh_token: 'phr_b', expires_in: 3600, scope: 'x', issued_at: 1})))
    expect(await exchangeProvisioningCode(deps, {issuer, code: 'c', verifier: 'v'})).toEqual({access_token: 'pha_a', refresh_token: 'phr_b', expires_in: 3600, account: null})
  })

  it('a token response without tokens, or with a nonsense expires_in', async () => {
    const {issuer, deps} = setup()
    const account = {id: 'org', available_teams: []}
    for (const body of [
      {token_type: 'bearer', account},
      {token_type: 'bearer', access_token: 'pha_a', refresh_token: 'phr_b', expires_in: -5, account},
    ]) {
      server.use(msw.post(`${issuer}${TOKEN}`, () => HttpResponse.json(body)))
      await expect(exchangeProvisioningCode(deps, {issuer, code: 'c', verifier: 'v'})).rejects.toMatchObject({exit: 6, code: 'malformed_response'})
    }
  })

  it('a token response without expires_in keeps it null rather than guessing', async () => {
    const {issuer, deps} = setup()
    server.use(msw.post(`${issuer}${TOKEN}`, () => HttpResponse.json({token_type: 'bearer', access_token: 'pha_a', refresh_token: 'phr_b'})))
    expect(await refreshProvisioningToken(deps, {issuer, refreshToken: 'phr_x'})).toEqual({access_token: 'pha_a', refresh_token: 'phr_b', expires_in: null})
  })

  it('a resource answer without access_configuration', async () => {
    const {issuer, deps} = setup()
    server.use(msw.get(`${issuer}${RESOURCES}/:id`, () => HttpResponse.json({status: 'complete', id: '1', complete: {}})))
    await expect(showProject(deps, {issuer, accessToken: 'pha_x', id: '1'})).rejects.toMatchObject({exit: 6, message: expect.stringContaining('access_configuration')})
  })

  it('a client_registration answer that cannot be read skips the ceiling check (not-offered)', async () => {
    const {mock, deps, issuer} = setup()
    mock.control.configure({fail_next: {path: '/api/agentic/provisioning/client_registration', malformed: true}})
    expect(await readAppCeiling(deps, {issuer, clientId: CLIENT_ID})).toMatchObject({kind: 'not-offered'})
  })

  it('introspection that fails or refuses is "unreadable" with the reason, never an exception or a guess', async () => {
    const {issuer, deps} = setup()
    server.use(msw.post(`${issuer}/oauth/introspect/`, () => new HttpResponse('nope', {status: 400})))
    expect(await readGrantedScopes(deps, {introspectionEndpoint: `${issuer}/oauth/introspect/`, token: 'pha_x'})).toEqual({
      kind: 'unreadable',
      reason: 'the server failed to read the token back (HTTP 400 from its introspection endpoint)',
    })
    server.use(msw.post(`${issuer}/oauth/introspect/`, () => new HttpResponse('', {status: 403})))
    expect(await readGrantedScopes(deps, {introspectionEndpoint: `${issuer}/oauth/introspect/`, token: 'pha_x'})).toMatchObject({kind: 'unreadable', reason: expect.stringMatching(/refused.*403/)})
  })
})

describe('no answer at all', () => {
  it('a connection failure: exit 6, server_unreachable', async () => {
    const {issuer, signup} = setup()
    server.use(msw.post(`${issuer}${ACCOUNT_REQUESTS}`, () => HttpResponse.error()))
    await expect(signup()).rejects.toMatchObject({exit: 6, code: 'server_unreachable'})
  })
})
