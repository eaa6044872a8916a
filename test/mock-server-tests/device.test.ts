/**
 * The mock's device authorization grant (RFC 8628; test/mock-server/device.ts): off by default like
 * PostHog, its metadata, the codes, section 3.5's polling answers, the verification page and the control
 * surface (in-process and over /__mock/).
 */
import {describe, expect, it} from 'vitest'

import {DEVICE_CODE_GRANT} from '../mock-server/device.js'
import {get, parseForm, postForm, postJson, startMock, TOKEN_PATTERN, US_CLIENT, useMsw} from './helpers.js'

useMsw()

const ISSUER = 'https://us.posthog.com'

async function metadata(): Promise<Record<string, unknown>> {
  return (await (await get(`${ISSUER}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>
}

async function authorizeDevice(scope = 'user:read project:read'): Promise<Record<string, unknown>> {
  const response = await postForm(`${ISSUER}/oauth/device_authorization/`, {client_id: US_CLIENT, scope})
  expect(response.status).toBe(200)
  return (await response.json()) as Record<string, unknown>
}

async function poll(deviceCode: string): Promise<{status: number; body: Record<string, unknown>}> {
  const response = await postForm(`${ISSUER}/oauth/token/`, {grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: US_CLIENT})
  return {status: response.status, body: (await response.json()) as Record<string, unknown>}
}

describe('the mock device grant', () => {
  it('is off by default: no metadata field, no endpoint, the token endpoint refuses the grant type', async () => {
    startMock()
    const meta = await metadata()
    expect(meta.device_authorization_endpoint).toBeUndefined()
    expect(meta.grant_types_supported).toEqual(['authorization_code', 'refresh_token'])
    expect((await postForm(`${ISSUER}/oauth/device_authorization/`, {client_id: US_CLIENT})).status).toBe(404)
    const refused = await poll('anything')
    expect(refused.body).toMatchObject({error: 'unsupported_grant_type'})
  })

  it('when on, advertises the endpoint and the grant, and issues codes per section 3.2', async () => {
    const mock = startMock({deviceGrant: true})
    const meta = await metadata()
    expect(meta.device_authorization_endpoint).toBe(`${ISSUER}/oauth/device_authorization/`)
    expect(meta.grant_types_supported).toContain(DEVICE_CODE_GRANT)
    const body = await authorizeDevice()
    expect(body).toMatchObject({verification_uri: `${ISSUER}/device`, expires_in: 600, interval: 1})
    expect(body.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
    expect(body.verification_uri_complete).toBe(`${ISSUER}/device?user_code=${body.user_code}`)
    expect(mock.control.device.codes()).toMatchObject([{user_code: body.user_code, status: 'pending', scopes: ['user:read', 'project:read']}])
    // The device code is a secret: control never shows it.
    expect(JSON.stringify(mock.control.device.codes())).not.toContain(body.device_code as string)
  })

  it('refuses unknown clients (401) and scopes outside the ceiling (invalid_scope)', async () => {
    const mock = startMock({deviceGrant: true})
    mock.control.upsertApp({client_id: US_CLIENT, scopes: ['user:read']})
    expect((await postForm(`${ISSUER}/oauth/device_authorization/`, {client_id: 'nobody'})).status).toBe(401)
    const refused = await postForm(`${ISSUER}/oauth/device_authorization/`, {client_id: US_CLIENT, scope: 'user:read dashboard:write'})
    expect(refused.status).toBe(400)
    expect(await refused.json()).toMatchObject({error: 'invalid_scope'})
  })

  it('polling: pending, then tokens once approved, then invalid_grant (single use)', async () => {
    const mock = startMock({deviceGrant: true})
    const code = await authorizeDevice()
    expect(await poll(code.device_code as string)).toMatchObject({status: 400, body: {error: 'authorization_pending'}})
    mock.clock.advance(1)
    mock.control.device.approve({user_code: code.user_code as string})
    const granted = await poll(code.device_code as string)
    expect(granted.status).toBe(200)
    expect(granted.body.access_token).toMatch(TOKEN_PATTERN.access)
    expect(granted.body.refresh_token).toMatch(TOKEN_PATTERN.refresh)
    expect(granted.body.scope).toBe('user:read project:read')
    mock.clock.advance(1)
    expect(await poll(code.device_code as string)).toMatchObject({body: {error: 'invalid_grant'}})
  })

  it('slow_down: a client polling faster than the interval, or one the control slows, gets +5 s', async () => {
    const mock = startMock({deviceGrant: true})
    const code = await authorizeDevice()
    await poll(code.device_code as string)
    expect(await poll(code.device_code as string)).toMatchObject({body: {error: 'slow_down'}})
    expect(mock.control.device.codes()[0]!.interval).toBe(6)
    mock.clock.advance(6)
    expect(await poll(code.device_code as string)).toMatchObject({body: {error: 'authorization_pending'}})
    mock.control.device.slowDown({count: 1})
    mock.clock.advance(6)
    expect(await poll(code.device_code as string)).toMatchObject({body: {error: 'slow_down'}})
    expect(mock.control.device.codes()[0]!.interval).toBe(11)
  })

  it('deny gives access_denied; expire (or the clock) gives expired_token', async () => {
    const mock = startMock({deviceGrant: true})
    const denied = await authorizeDevice()
    mock.control.device.deny({user_code: denied.user_code as string})
    expect(await poll(denied.device_code as string)).toMatchObject({status: 400, body: {error: 'access_denied'}})
    const expired = await authorizeDevice()
    mock.control.device.expire({user_code: expired.user_code as string})
    expect(await poll(expired.device_code as string)).toMatchObject({status: 400, body: {error: 'expired_token'}})
    const aged = await authorizeDevice()
    mock.clock.advance(601)
    expect(await poll(aged.device_code as string)).toMatchObject({body: {error: 'expired_token'}})
  })

  it('the verification page: the complete URL shows the code with Authorize and Deny; the form approves', async () => {
    const mock = startMock({deviceGrant: true})
    const code = await authorizeDevice()
    const page = await get(code.verification_uri_complete as string)
    const text = await page.text()
    expect(text).toContain(code.user_code as string)
    const form = parseForm(text)
    expect(form.fields.user_code).toBe(code.user_code)
    const submitted = await postForm(form.action, {...form.fields, decision: 'allow'})
    expect(submitted.status).toBe(200)
    expect(mock.control.device.codes()[0]).toMatchObject({status: 'approved', user_email: 'dev@example.com'})
    // Without the code in the URL, the page asks for it.
    expect(await (await get(`${ISSUER}/device`)).text()).toMatch(/Enter the code/)
  })

  it('control over HTTP: settings, the codes, approve/deny/slow-down/expire, 400 on bad input; reset clears codes', async () => {
    const mock = startMock()
    expect(await (await postJson(`${ISSUER}/__mock/device`, {enabled: true, interval: 2, expires_in: 30})).json()).toMatchObject({settings: {enabled: true, interval: 2, expires_in: 30}})
    const code = await authorizeDevice()
    expect(code).toMatchObject({interval: 2, expires_in: 30})
    const listed = (await (await get(`${ISSUER}/__mock/device`)).json()) as {codes: Array<{user_code: string}>}
    expect(listed.codes.map((item) => item.user_code)).toEqual([code.user_code])
    expect(await (await postJson(`${ISSUER}/__mock/device/slow-down`, {})).json()).toMatchObject({slow_downs_queued: 1})
    expect(await (await postJson(`${ISSUER}/__mock/device/approve`, {user_code: (code.user_code as string).toLowerCase()})).json()).toMatchObject({status: 'approved'})
    const again = await postJson(`${ISSUER}/__mock/device/deny`, {user_code: code.user_code})
    expect(again.status).toBe(400)
    expect(await again.json()).toMatchObject({error: expect.stringMatching(/approved, not pending/)})
    expect((await postJson(`${ISSUER}/__mock/device/expire`, {user_code: 'NOPE-NOPE'})).status).toBe(400)
    expect((await postJson(`${ISSUER}/__mock/device`, {interval: 0})).status).toBe(400)
    mock.control.reset()
    expect(mock.control.device.codes()).toEqual([])
    expect((await metadata()).device_authorization_endpoint).toBeUndefined()
  })
})
