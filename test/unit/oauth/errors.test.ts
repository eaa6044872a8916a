// Every branch of the OAuth error -> exit code mapping (RFC 6749 sections 4.1.2.1 and 5.2 to client.md's exit codes).
import * as oidc from 'openid-client'
import {describe, expect, it} from 'vitest'

import {ExitCode, NetworkError, StorageUnavailableError} from '../../../src/errors.js'
import {mapOAuthError, mapOAuthErrorInfo, oauthErrorOf, type OAuthStep} from '../../../src/oauth/errors.js'

const ISSUER = 'https://us.posthog.com'
const context = (step: OAuthStep) => ({step, issuer: ISSUER, clientId: 'client-1'})

describe('mapOAuthErrorInfo: one exit code per OAuth error', () => {
  it.each([
    {error: 'access_denied', step: 'authorize', exit: ExitCode.notLoggedIn, code: 'access_denied'},
    {error: 'invalid_scope', step: 'token', exit: ExitCode.scope, code: 'invalid_scope'},
    {error: 'invalid_grant', step: 'refresh', exit: ExitCode.sessionExpired, code: 'session_expired'},
    {error: 'invalid_grant', step: 'token', exit: ExitCode.notLoggedIn, code: 'invalid_grant'},
    {error: 'invalid_client', step: 'token', exit: ExitCode.usage, code: 'invalid_client'},
    {error: 'unauthorized_client', step: 'authorize', exit: ExitCode.usage, code: 'unauthorized_client'},
    {error: 'temporarily_unavailable', step: 'authorize', exit: ExitCode.network, code: 'server_unavailable'},
    {error: 'server_error', step: 'token', exit: ExitCode.network, code: 'server_unavailable'},
    {error: 'slow_down', step: 'token', exit: ExitCode.network, code: 'server_unavailable'},
    {error: 'invalid_request', step: 'register', exit: ExitCode.unexpected, code: 'invalid_request'},
  ] as const)('$error at the $step step -> exit $exit ($code)', ({error, step, exit, code}) => {
    const mapped = mapOAuthErrorInfo({error, description: 'said the server'}, context(step))
    expect(mapped).toMatchObject({exit, code})
    expect(mapped.message).toContain(`${error}: said the server`)
  })

  it('an unknown error with a 5xx or 429 status is the server being unavailable (exit 6); with a 4xx, unexpected (exit 1)', () => {
    expect(mapOAuthErrorInfo({error: 'weird', status: 502}, context('token'))).toMatchObject({exit: ExitCode.network, code: 'server_unavailable'})
    expect(mapOAuthErrorInfo({error: 'weird', status: 429}, context('token'))).toMatchObject({exit: ExitCode.network, code: 'server_unavailable'})
    expect(mapOAuthErrorInfo({error: 'weird', status: 400}, context('token'))).toMatchObject({exit: ExitCode.unexpected, code: 'weird'})
  })

  it('names the client id a server refuses, and the refresh that failed', () => {
    expect(mapOAuthErrorInfo({error: 'invalid_client'}, context('token')).message).toContain('client-1')
    expect(mapOAuthErrorInfo({error: 'invalid_client'}, {step: 'token', issuer: ISSUER}).message).toContain('(none)')
    expect(mapOAuthErrorInfo({error: 'invalid_grant'}, context('refresh'))).toMatchObject({nextCommand: 'onramp login', message: expect.stringContaining(ISSUER)})
  })

  it('strips terminal control sequences from what the server said', () => {
    const mapped = mapOAuthErrorInfo({error: 'access_denied', description: 'no\u001b[2J way'}, context('authorize'))
    expect(mapped.message).not.toContain('\u001b')
  })
})

describe('mapOAuthError: what openid-client and fetch throw', () => {
  it('reads the OAuth error of a token endpoint answer (ResponseBodyError), status included', () => {
    const thrown = new oidc.ResponseBodyError('server responded with an error', {
      cause: {error: 'invalid_grant', error_description: 'refresh token revoked'},
      response: new Response(null, {status: 400}),
    })
    expect(oauthErrorOf(thrown)).toEqual({error: 'invalid_grant', description: 'refresh token revoked', status: 400})
    expect(mapOAuthError(thrown, context('refresh'))).toMatchObject({exit: ExitCode.sessionExpired})
    const unknown503 = new oidc.ResponseBodyError('x', {cause: {error: 'odd'}, response: new Response(null, {status: 503})})
    expect(mapOAuthError(unknown503, context('token'))).toMatchObject({exit: ExitCode.network})
  })

  it('reads the OAuth error of an authorization response (AuthorizationResponseError)', () => {
    const thrown = new oidc.AuthorizationResponseError('authorization response from the server is an error', {
      cause: new URLSearchParams({error: 'access_denied', error_description: 'user said no'}),
    })
    expect(oauthErrorOf(thrown)).toEqual({error: 'access_denied', description: 'user said no'})
    expect(mapOAuthError(thrown, context('authorize'))).toMatchObject({exit: ExitCode.notLoggedIn, code: 'access_denied'})
  })

  it('keeps an onramp error thrown inside openid-client (e.g. a body over the size limit)', () => {
    const ours = new StorageUnavailableError('keychain locked')
    const wrapped = new Error('wrapped by the client', {cause: new Error('again', {cause: ours})})
    expect(mapOAuthError(wrapped, context('token'))).toBe(ours)
  })

  it('a fetch that never reached the server is exit 6 (server_unreachable), naming the host', () => {
    const thrown = new TypeError('fetch failed', {cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {code: 'ECONNREFUSED'})})
    const mapped = mapOAuthError(thrown, context('token'))
    expect(mapped).toBeInstanceOf(NetworkError)
    expect(mapped).toMatchObject({exit: ExitCode.network, code: 'server_unreachable', message: expect.stringContaining(ISSUER)})
  })

  it('a non-OAuth answer with HTTP 5xx or 429 is exit 6; with another status, exit 1 naming the step and the detail', () => {
    const withStatus = (status: number) => new Error('unexpected HTTP response status code', {cause: new Response(null, {status})})
    expect(mapOAuthError(withStatus(500), context('token'))).toMatchObject({exit: ExitCode.network, code: 'server_unavailable'})
    expect(mapOAuthError(withStatus(429), context('token'))).toMatchObject({exit: ExitCode.network, code: 'server_unavailable'})
    const other = mapOAuthError(withStatus(418), context('token'))
    expect(other).toMatchObject({exit: ExitCode.unexpected, code: 'token_failed'})
    expect(other.message).toContain('The token step failed: unexpected HTTP response status code')
  })

  it('a refresh refused without an error body (a bare 400 or 401) is an expired session: exit 5 with the next step', () => {
    const withStatus = (status: number) => new Error('unexpected HTTP response status code', {cause: new Response(null, {status})})
    for (const status of [400, 401]) {
      const error = mapOAuthError(withStatus(status), context('refresh'))
      expect(error).toMatchObject({exit: ExitCode.sessionExpired, code: 'session_expired', nextCommand: 'onramp login'})
      expect(error.message).toContain(`HTTP ${status}`)
    }
  })

  it('a revocation the server refuses names the status and the likely cause, never "unexpected response content-type"', () => {
    const bare = (status: number) => new Error('unexpected response content-type', {cause: new Response(null, {status})})
    const needsAuth = mapOAuthError(bare(401), context('revoke'))
    expect(needsAuth).toMatchObject({exit: ExitCode.unexpected, code: 'revoke_refused'})
    expect(needsAuth.message).toMatch(/HTTP 401, no error in the answer\): it wants the client to authenticate/)
    expect(needsAuth.message).not.toContain('content-type')
    expect(mapOAuthError(bare(403), context('revoke')).message).toMatch(/HTTP 403.*does not let client/)
    const body = mapOAuthErrorInfo({error: 'invalid_client', description: 'client authentication failed', status: 401}, context('revoke'))
    expect(body).toMatchObject({code: 'revoke_refused'})
    expect(body.message).toMatch(/HTTP 401, invalid_client: client authentication failed\): it wants the client to authenticate/)
  })

  it("anything else is exit 1 with the cause's message (openid-client keeps the detail in cause)", () => {
    const thrown = new Error('invalid response encountered', {cause: 'expected JSON'})
    expect(mapOAuthError(thrown, context('register'))).toMatchObject({exit: ExitCode.unexpected, code: 'register_failed', message: expect.stringContaining('invalid response encountered: expected JSON')})
    expect(mapOAuthError('a string', context('token'))).toMatchObject({exit: ExitCode.unexpected, message: expect.stringContaining('a string')})
  })
})
