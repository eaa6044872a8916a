/** The processing halves of the provisioning steps, fed `new Response(...)`: no server, no network. */
import {describe, expect, it} from 'vitest'

import type {Logger} from '../../../src/log.js'
import {processAccountRequestResponse} from '../../../src/provisioning/account-requests.js'
import {processProvisioningResponse} from '../../../src/provisioning/api.js'
import {processIntrospectionResponse} from '../../../src/provisioning/introspection.js'
import {processCodeExchangeResponse} from '../../../src/provisioning/token.js'

const issuer = 'https://us.posthog.com'
const logger = {event: () => {}} as unknown as Logger
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), {status, headers: {'content-type': 'application/json'}})
const pkce = {verifier: 'v'.repeat(43), challenge: 'c'.repeat(43)}

describe('processProvisioningResponse', () => {
  it('a 2xx carrying a typed or status error is that error', async () => {
    await expect(processProvisioningResponse(json({type: 'error', error: {code: 'forbidden', message: 'Account creation disabled'}}), {step: 'account_requests', issuer}, {logger})).rejects.toMatchObject({exit: 4})
    await expect(processProvisioningResponse(json({status: 'error', id: '7', error: {code: 'not_found', message: 'Resource not found'}}), {step: 'project_show', issuer}, {logger})).rejects.toMatchObject({exit: 2})
  })
})

describe('processAccountRequestResponse (PostHog/wizard recorded ACCOUNT_REQUEST_RESPONSE)', () => {
  it('reads the recorded oauth answer, unknown fields ignored', async () => {
    const answer = await processAccountRequestResponse(json({id: 'req_recorded', type: 'oauth', oauth: {code: 'recorded_auth_code'}, future_field: 1}), {issuer, id: 'x', pkce, logger})
    expect(answer).toEqual({type: 'oauth', id: 'req_recorded', code: 'recorded_auth_code', pkce})
  })

  it('reads requires_auth under url and under {type:"redirect", redirect:{url}}', async () => {
    for (const requiresAuth of [{url: `${issuer}/agentic/authorize?state=s1`}, {type: 'redirect', redirect: {url: `${issuer}/agentic/authorize?state=s1`}}]) {
      expect(await processAccountRequestResponse(json({id: 'r', type: 'requires_auth', requires_auth: requiresAuth}), {issuer, id: 'x', pkce, logger})).toMatchObject({type: 'requires_auth', state: 's1'})
    }
  })
})

describe('processCodeExchangeResponse (PostHog/wizard recorded TOKEN_RESPONSE)', () => {
  it('reads the recorded answer and one without account', async () => {
    const recorded = {token_type: 'bearer', access_token: 'pha_recorded_access', refresh_token: 'phr_recorded_refresh', expires_in: 31536000, account: {id: 'org_recorded', payment_credentials: 'orchestrator', available_teams: [{id: 4242, name: 'my-app', organization_id: 'org_recorded', organization_name: 'acme'}]}}
    expect(await processCodeExchangeResponse(json(recorded), {issuer, logger})).toMatchObject({expires_in: 31536000, account: {id: 'org_recorded', available_teams: [{id: 4242}]}})
    const {account: _dropped, ...withoutAccount} = recorded
    expect(await processCodeExchangeResponse(json(withoutAccount), {issuer, logger})).toMatchObject({account: null})
  })
})

describe('processIntrospectionResponse', () => {
  it('active, inactive, and the bare 403 as unreadable with its reason', async () => {
    expect(await processIntrospectionResponse(json({active: true, token_type: 'access_token', scope: 'user:read', scoped_teams: [1], scoped_organizations: [], exp: 5, client_id: 'c', client_name: 'n'}))).toEqual({kind: 'active', scopes: ['user:read'], exp: 5, scoped_teams: [1]})
    expect(await processIntrospectionResponse(json({active: false}))).toEqual({kind: 'inactive'})
    expect(await processIntrospectionResponse(new Response('', {status: 403}))).toMatchObject({kind: 'unreadable', reason: expect.stringMatching(/refused.*403/)})
  })
})
