import {describe, expect, it} from 'vitest'

import {NetworkError, NotLoggedInError, ScopeError, SessionExpiredError, UnexpectedError, UsageError} from '../../../src/errors.js'
import type {Logger} from '../../../src/log.js'
import {retryAfterSeconds} from '../../../src/provisioning/api.js'
import {mapProvisioningError, ProvisioningTokenRejectedError, readErrorEnvelope, type ProvisioningStep} from '../../../src/provisioning/errors.js'
import {serverText} from '../../../src/terminal-text.js'

const ISSUER = 'https://us.posthog.com'
const NOW = new Date('2026-11-23T12:00:00Z')

function recordingLogger(): Logger & {names: string[]; fields: Record<string, unknown>[]} {
  const names: string[] = []
  const fields: Record<string, unknown>[] = []
  return {names, fields, event: (name, recorded = {}) => void (names.push(name), fields.push(recorded))}
}

function mapped(step: ProvisioningStep, status: number, body: Record<string, unknown>, extra: {retryAfterSeconds?: number; resourceId?: string} = {}) {
  const logger = recordingLogger()
  const error = mapProvisioningError(
    {step, issuer: ISSUER, status, envelope: readErrorEnvelope(body), now: NOW, retryAfterSeconds: extra.retryAfterSeconds, context: extra.resourceId ? {resourceId: extra.resourceId} : {}},
    logger,
  )
  return {error, logger}
}

const typed = (code: string, message: string) => ({type: 'error', error: {code, message}})
const status = (code: string, message: string, id = '') => ({status: 'error', id, error: {code, message}})
const oauth = (error: string, error_description: string) => ({error, error_description})

describe('reading the three error envelopes (server.md 4.1)', () => {
  it('typed, status, oauth and the region proxy bare shape give one code and message', () => {
    expect(readErrorEnvelope(typed('forbidden', 'no'))).toEqual({shape: 'typed', code: 'forbidden', message: 'no'})
    expect(readErrorEnvelope(status('not_found', 'Resource not found', '42'))).toEqual({shape: 'status', code: 'not_found', message: 'Resource not found', id: '42'})
    expect(readErrorEnvelope(oauth('invalid_grant', 'Invalid or revoked refresh token'))).toEqual({shape: 'oauth', code: 'invalid_grant', message: 'Invalid or revoked refresh token'})
    expect(readErrorEnvelope({error: {code: 'proxy_failed', message: 'Failed to route to correct region'}})).toMatchObject({shape: 'bare', code: 'proxy_failed'})
  })

  it('anything else is not an envelope', () => {
    expect(readErrorEnvelope({detail: 'Not found.'})).toBeUndefined()
    expect(readErrorEnvelope({error: {message: 'no code'}})).toBeUndefined()
  })

  it('server text loses control characters before it reaches a message', () => {
    const envelope = readErrorEnvelope(typed('invalid_request', 'email\u001b[31m is\r\nrequired\u202e'))
    expect(envelope?.message).toBe('email is required')
    expect(serverText('x'.repeat(400))).toHaveLength(301)
  })
})

describe('each provisioning error code maps to one exit code', () => {
  it.each([
    ['account_requests', 400, typed('invalid_request', 'email is required'), UsageError, 2],
    ['account_requests', 400, typed('invalid_scope', "One or more requested scopes exceed the application's allowed scopes"), ScopeError, 4],
    ['account_requests', 403, typed('forbidden', 'Account creation is not enabled for this partner'), ScopeError, 4],
    ['account_requests', 403, typed('forbidden', 'Account creation is not available for this email address.'), UsageError, 2],
    ['account_requests', 401, typed('unauthorized', 'No provisioning client is registered for this client_id.'), UsageError, 2],
    ['account_requests', 400, typed('expired', 'Account request has expired'), UsageError, 2],
    ['account_requests', 500, typed('account_creation_failed', 'Failed to create account'), NetworkError, 6],
    ['account_requests', 502, {error: {code: 'proxy_failed', message: 'Failed to route to correct region'}}, NetworkError, 6],
    ['token_exchange', 400, oauth('invalid_grant', 'Invalid or expired authorization code'), NotLoggedInError, 3],
    ['token_exchange', 400, oauth('invalid_scope', "Requested scopes exceed the application's allowed scopes"), ScopeError, 4],
    ['token_exchange', 401, oauth('invalid_request', 'code_verifier is required for PKCE'), UsageError, 2],
    ['token_exchange', 401, oauth('invalid_client', 'client_id and client_secret are required'), UsageError, 2],
    ['token_exchange', 400, oauth('unsupported_grant_type', 'Unsupported grant_type: x'), UnexpectedError, 1],
    ['token_refresh', 400, oauth('invalid_grant', 'Invalid or revoked refresh token'), SessionExpiredError, 5],
    ['project_create', 409, status('project_id_conflict', 'Project ID already linked to another organization'), UsageError, 2],
    ['project_create', 400, status('no_team', 'No team associated with this token'), UsageError, 2],
    ['project_create', 400, status('invalid_label_prefix', 'label_prefix must be 25 characters or fewer'), UsageError, 2],
    ['project_create', 404, status('team_not_found', 'Team not found'), UsageError, 2],
    ['project_show', 404, status('not_found', 'Resource not found', '42'), UsageError, 2],
    ['project_show', 400, status('invalid_resource_id', 'Invalid resource ID', 'abc'), UsageError, 2],
    ['project_show', 403, status('forbidden', 'Resource not accessible with this token', '42'), UsageError, 2],
    ['project_show', 403, status('forbidden', 'Resource provisioning not enabled for this partner'), ScopeError, 4],
    ['project_show', 401, status('unauthorized', 'Partner is deactivated'), ScopeError, 4],
    ['project_rotate', 500, status('credential_rotation_failed', 'Failed to rotate credentials', '42'), NetworkError, 6],
    ['project_remove', 500, status('remove_failed', 'Failed to remove resource', '42'), NetworkError, 6],
    ['project_remove', 503, {detail: 'upstream'}, NetworkError, 6],
    ['account_requests', 418, {detail: 'teapot'}, UnexpectedError, 1],
    ['account_requests', 400, typed('something_new', 'A code from a newer server'), UnexpectedError, 1],
  ] as const)('%s: HTTP %i %j', (step, httpStatus, body, errorClass, exit) => {
    const {error} = mapped(step, httpStatus, body)
    expect(error).toBeInstanceOf(errorClass)
    expect(error.exit).toBe(exit)
  })

  it('keeps the server words in the message, with a next step', () => {
    const {error} = mapped('project_create', 409, status('project_id_conflict', 'Project ID already linked to another organization'), {resourceId: 'ci-run-7'})
    expect(error.message).toContain('Project ID already linked to another organization')
    expect(error.message).toContain('ci-run-7')
    expect(error.message).toContain('choose another --id')
    expect(mapped('project_show', 404, status('not_found', 'Resource not found', '42'), {resourceId: '42'}).error.message).toMatch(/No such project 42/)
    expect(mapped('account_requests', 500, typed('account_creation_failed', 'Failed to create account')).error.message).toMatch(/retry/)
  })

  it('a 401 on a Bearer call says whether one refresh and retry may help', () => {
    for (const message of ['Invalid access token', 'Access token expired', 'Authentication failed']) {
      const {error} = mapped('project_show', 401, status('unauthorized', message))
      expect(error).toBeInstanceOf(ProvisioningTokenRejectedError)
      expect((error as ProvisioningTokenRejectedError).refreshable).toBe(true)
      expect(error.exit).toBe(5)
    }
    const missing = mapped('project_show', 401, status('unauthorized', 'Missing bearer token')).error
    expect(missing).toBeInstanceOf(ProvisioningTokenRejectedError)
    expect((missing as ProvisioningTokenRejectedError).refreshable).toBe(false)
  })

  it('invalid_scope is logged as oauth.invalid_scope; at the exchange the message says the account exists', () => {
    const {error, logger} = mapped('token_exchange', 400, oauth('invalid_scope', "Requested scopes exceed the application's allowed scopes"))
    expect(logger.names).toEqual(['oauth.invalid_scope'])
    expect(error.message).toMatch(/account itself exists/)
  })

  it('the invalid_scope log names the missing scopes when the server message does, else null', () => {
    const logger = recordingLogger()
    const info = {step: 'account_requests' as const, issuer: ISSUER, status: 400, now: NOW, context: {scopes: ['user:read', 'llm_gateway:write'], clientId: 'app'}}
    mapProvisioningError({...info, envelope: readErrorEnvelope(typed('invalid_scope', 'llm_gateway:write exceeds the ceiling'))}, logger)
    mapProvisioningError({...info, envelope: readErrorEnvelope(typed('invalid_scope', 'One or more requested scopes exceed the allowed scopes'))}, logger)
    expect(logger.fields.map((fields) => fields.missing_scopes)).toEqual([['llm_gateway:write'], null])
    expect(logger.fields[0]).toMatchObject({source: 'provisioning', host: ISSUER, client_id: 'app', requested_scopes: ['user:read', 'llm_gateway:write']})
  })

  it('a 429 says when to retry, or that the server did not say', () => {
    const timed = mapped('account_requests', 429, typed('rate_limited', 'whatever this server version says'), {retryAfterSeconds: 90}).error
    expect(timed).toBeInstanceOf(NetworkError)
    expect(timed.code).toBe('rate_limited')
    expect(timed.message).toContain('Retry after 2026-11-23T12:01:30Z (in 90 s)')
    const untimed = mapped('account_requests', 429, typed('rate_limited', 'x')).error
    expect(untimed.message).toMatch(/did not say when to retry \(no Retry-After header\)/)
  })

  it('a 429 at the code exchange says the code is spent', () => {
    expect(mapped('token_exchange', 429, typed('rate_limited', 'x'), {retryAfterSeconds: 3}).error.message).toMatch(/code was used up/)
  })
})

describe('Retry-After (RFC 9110 10.2.3)', () => {
  it('reads seconds and HTTP dates; absent or unreadable is undefined', () => {
    expect(retryAfterSeconds('7', NOW)).toBe(7)
    expect(retryAfterSeconds('Mon, 23 Nov 2026 12:00:30 GMT', NOW)).toBe(30)
    expect(retryAfterSeconds(null, NOW)).toBeUndefined()
    expect(retryAfterSeconds('soon', NOW)).toBeUndefined()
    expect(retryAfterSeconds('-3', NOW)).toBeUndefined()
  })
})
