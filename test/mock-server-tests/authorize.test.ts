import {describe, expect, it} from 'vitest'

import {effectiveCeiling, UNPRIVILEGED_SCOPES} from '../mock-server/scopes.js'
import {WIZARD_APP_CEILING} from '../mock-server/scope-data.js'
import {
  authorizeAndConsent,
  authorizeUrl,
  CALLBACK,
  get,
  login,
  parseForm,
  pkce,
  postForm,
  redirectParams,
  startMock,
  submitConsent,
  US_CLIENT,
  useMsw,
} from './helpers.js'

useMsw()

function invalidScopeEvents(mock: ReturnType<typeof startMock>) {
  return mock.control.events().filter((event) => event.event === 'oauth.authorize.invalid_scope')
}

describe('/oauth/authorize: client and redirect_uri are checked before anything redirects', () => {
  it('unknown client_id -> 400 JSON invalid_request, never a redirect', async () => {
    const mock = startMock()
    const response = await get(authorizeUrl(mock, {clientId: 'no-such-client'}))
    expect(response.status).toBe(400)
    expect(response.headers.get('location')).toBeNull()
    expect(await response.json()).toMatchObject({error: 'invalid_request', error_description: expect.any(String)})
  })

  it('missing client_id -> 400 JSON invalid_request', async () => {
    const mock = startMock()
    const url = new URL(authorizeUrl(mock))
    url.searchParams.delete('client_id')
    const response = await get(url.toString())
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({error: 'invalid_request'})
  })

  it('redirect_uri mismatch -> an HTML error page (400), never a redirect', async () => {
    const mock = startMock()
    for (const redirectUri of ['https://evil.example.com/callback', 'http://localhost:8239/other', 'https://localhost:8239/callback', 'http://127.0.0.2/callback']) {
      const response = await get(authorizeUrl(mock, {redirectUri}))
      expect(response.status, redirectUri).toBe(400)
      expect(response.headers.get('location'), redirectUri).toBeNull()
      expect(response.headers.get('content-type')).toContain('text/html')
      expect(await response.text()).toContain('Mismatching redirect URI')
    }
  })

  it('missing redirect_uri -> error page', async () => {
    const mock = startMock()
    const url = new URL(authorizeUrl(mock))
    url.searchParams.delete('redirect_uri')
    const response = await get(url.toString())
    expect(response.status).toBe(400)
    expect(response.headers.get('location')).toBeNull()
  })

  it('registered loopback URIs accept any port (RFC 8252 7.3): localhost, 127.0.0.1 and [::1]', async () => {
    const mock = startMock({autoApprove: true})
    mock.control.upsertApp({client_id: US_CLIENT, redirect_uris: [...mock.control.snapshot().apps[0]!.redirect_uris, 'http://[::1]/callback']})
    for (const redirectUri of ['http://localhost:51234/callback', 'http://localhost:8239/callback', 'http://127.0.0.1:40000/callback', 'http://[::1]:6000/callback']) {
      const response = await get(authorizeUrl(mock, {redirectUri}))
      expect(response.status, redirectUri).toBe(302)
      expect(response.headers.get('location')!.startsWith(`${redirectUri}?code=`), redirectUri).toBe(true)
    }
  })

  it('non-loopback URIs match exactly: another port is a mismatch', async () => {
    const mock = startMock({autoApprove: true})
    mock.control.upsertApp({client_id: 'web-app', redirect_uris: ['https://app.example.com:8443/cb'], scopes: ['user:read']})
    expect((await get(authorizeUrl(mock, {clientId: 'web-app', redirectUri: 'https://app.example.com:8443/cb'}))).status).toBe(302)
    expect((await get(authorizeUrl(mock, {clientId: 'web-app', redirectUri: 'https://app.example.com:9443/cb'}))).status).toBe(400)
  })

  it('accepts the authorize endpoint without its trailing slash', async () => {
    const mock = startMock({autoApprove: true})
    const response = await get(authorizeUrl(mock).replace('/oauth/authorize/', '/oauth/authorize'))
    expect(response.status).toBe(302)
    expect(redirectParams(response).get('code')).toBeTruthy()
  })
})

describe('/oauth/authorize: redirect errors', () => {
  it('missing code_challenge -> redirect with invalid_request and the state', async () => {
    const mock = startMock()
    const params = redirectParams(await get(authorizeUrl(mock, {challenge: null, state: 'keep-me'})))
    expect(params.get('error')).toBe('invalid_request')
    expect(params.get('error_description')).toBeTruthy()
    expect(params.get('state')).toBe('keep-me')
  })

  it('code_challenge_method other than S256 (or missing) -> invalid_request', async () => {
    const mock = startMock()
    expect(redirectParams(await get(authorizeUrl(mock, {method: 'plain'}))).get('error')).toBe('invalid_request')
    expect(redirectParams(await get(authorizeUrl(mock, {method: null}))).get('error')).toBe('invalid_request')
  })

  it('response_type missing -> invalid_request; other than code -> unsupported_response_type', async () => {
    const mock = startMock()
    expect(redirectParams(await get(authorizeUrl(mock, {responseType: null}))).get('error')).toBe('invalid_request')
    expect(redirectParams(await get(authorizeUrl(mock, {responseType: 'token'}))).get('error')).toBe('unsupported_response_type')
  })

  it('redirects keep the registered URI and use the request port for loopback', async () => {
    const mock = startMock()
    const response = await get(authorizeUrl(mock, {redirectUri: 'http://127.0.0.1:4711/callback', challenge: null}))
    expect(response.headers.get('location')!.startsWith('http://127.0.0.1:4711/callback?error=invalid_request')).toBe(true)
  })
})

describe('/oauth/authorize: scopes, reject era (default)', () => {
  it('empty scope -> the effective ceiling plus the always-allowed scopes', async () => {
    const mock = startMock()
    const page = await get(authorizeUrl(mock))
    const {fields} = parseForm(await page.text())
    expect(fields.scope!.split(' ').sort()).toEqual([...effectiveCeiling(WIZARD_APP_CEILING), 'openid', 'profile', 'email', 'introspection'].sort())
    const tokens = await login(mock)
    expect(tokens.scope.split(' ')).toHaveLength(UNPRIVILEGED_SCOPES.length + 3 + 4)
  })

  it('a scope outside the ceiling fails the whole request: 302 invalid_scope with description and state', async () => {
    const mock = startMock()
    const response = await get(authorizeUrl(mock, {scope: 'user:read llm_gateway:write', state: 's1'}))
    expect(response.status).toBe(302)
    const params = redirectParams(response)
    expect(response.headers.get('location')!.startsWith(`${CALLBACK}?`)).toBe(true)
    expect(params.get('error')).toBe('invalid_scope')
    expect(params.get('error_description')).toContain('llm_gateway:write')
    expect(params.get('state')).toBe('s1')
    expect(params.get('code')).toBeNull()
  })

  it('records the WARN event oauth.authorize.invalid_scope with requested, grantable, missing, client and user agent (200 chars)', async () => {
    const mock = startMock()
    const userAgent = `onramp/1.0 ${'x'.repeat(300)}`
    await get(authorizeUrl(mock, {scope: 'openid user:read nonsense:read llm_gateway:write'}), {'user-agent': userAgent})
    const events = invalidScopeEvents(mock)
    expect(events).toHaveLength(1)
    const [event] = events
    expect(event).toMatchObject({
      event: 'oauth.authorize.invalid_scope',
      level: 'warn',
      requested_scopes: ['openid', 'user:read', 'nonsense:read', 'llm_gateway:write'],
      missing_scopes: ['nonsense:read', 'llm_gateway:write'],
      client_id: US_CLIENT,
      user_agent: userAgent.slice(0, 200),
    })
    expect(event!.grantable_scopes).toEqual(expect.arrayContaining(['llm_gateway:read', 'wizard_session:write', 'openid', 'user:read']))
    expect(event!.grantable_scopes).not.toContain('llm_gateway:write')
  })

  it('privileged and hidden scopes inside the ceiling are accepted although never advertised', async () => {
    const mock = startMock()
    const tokens = await login(mock, {scope: 'user:read llm_gateway:read wizard_session:read wizard_session:write'})
    expect(tokens.scope).toBe('user:read llm_gateway:read wizard_session:read wizard_session:write')
    expect(invalidScopeEvents(mock)).toHaveLength(0)
  })

  it('exhaustive ceiling: only the listed scopes (and read halves of writes) pass', async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: US_CLIENT, scopes: ['user:read', 'dashboard:write']})
    expect((await login(mock, {scope: 'user:read dashboard:read dashboard:write openid'})).scope).toBe('user:read dashboard:read dashboard:write openid')
    expect(redirectParams(await get(authorizeUrl(mock, {scope: 'user:read project:read'}))).get('error')).toBe('invalid_scope')
    expect(invalidScopeEvents(mock)[0]).toMatchObject({missing_scopes: ['project:read'], grantable_scopes: ['user:read', 'dashboard:write', 'dashboard:read', 'openid', 'profile', 'email', 'introspection']})
  })

  it('empty ceiling: every unprivileged scope passes, privileged ones do not, and * is accepted (legacy)', async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: 'legacy-app', scopes: [], redirect_uris: [CALLBACK]})
    expect((await login(mock, {clientId: 'legacy-app', scope: 'insight:write notebook:write'})).scope).toBe('insight:read insight:write notebook:read notebook:write')
    expect(redirectParams(await get(authorizeUrl(mock, {clientId: 'legacy-app', scope: 'llm_gateway:read'}))).get('error')).toBe('invalid_scope')
    expect((await login(mock, {clientId: 'legacy-app', scope: '*'})).scope).toBe('*')
  })

  it('consent grants X:read beside every X:write row, inside the ceiling only (PostHog PR #81072)', async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: 'writer', scopes: ['insight:write', 'notebook:write'], optional_scopes: ['dashboard:write'], redirect_uris: [CALLBACK]})
    expect((await login(mock, {clientId: 'writer', scope: 'insight:write dashboard:write'})).scope).toBe('insight:read insight:write dashboard:read dashboard:write')
    mock.control.upsertApp({client_id: 'exact', scopes: ['user:read', 'feature_flag:write'], redirect_uris: [CALLBACK]})
    expect((await login(mock, {clientId: 'exact', scope: 'user:read feature_flag:write'})).scope).toBe('user:read feature_flag:read feature_flag:write')
  })

  it('optional_scopes widen the ceiling: grantable, listed by client_registration (posthog/models/oauth.py ceiling_scopes)', async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: 'extras', scopes: ['user:read'], optional_scopes: ['project:read'], redirect_uris: [CALLBACK]})
    expect((await login(mock, {clientId: 'extras', scope: 'user:read project:read'})).scope).toBe('user:read project:read')
    expect(redirectParams(await get(authorizeUrl(mock, {clientId: 'extras', scope: 'insight:read'}))).get('error')).toBe('invalid_scope')
  })

  it('* under an explicit ceiling is rejected', async () => {
    const mock = startMock()
    const params = redirectParams(await get(authorizeUrl(mock, {scope: '*'})))
    expect(params.get('error')).toBe('invalid_scope')
    expect(invalidScopeEvents(mock)[0]).toMatchObject({missing_scopes: ['*']})
  })

  it('the consent POST validates again: a scope slipped into the form is rejected', async () => {
    const mock = startMock()
    const page = await get(authorizeUrl(mock, {scope: 'user:read'}))
    const response = await submitConsent(page, 'allow', {scope: 'user:read llm_gateway:write'})
    expect(redirectParams(response).get('error')).toBe('invalid_scope')
    expect(invalidScopeEvents(mock)).toHaveLength(1)
  })
})

describe('/oauth/authorize: scopes, clamp era', () => {
  it('drops out-of-ceiling scopes silently; the token scope is the only truth; no invalid_scope event', async () => {
    const mock = startMock({policy: 'clamp'})
    const tokens = await login(mock, {scope: 'user:read llm_gateway:write nonsense:read project:read'})
    expect(tokens.scope).toBe('user:read project:read')
    expect(invalidScopeEvents(mock)).toHaveLength(0)
    expect(mock.control.events().find((event) => event.event === 'oauth.authorize.scopes_clamped')).toMatchObject({dropped_scopes: ['llm_gateway:write', 'nonsense:read']})
  })

  it('the consent page lists only what will be granted', async () => {
    const mock = startMock({policy: 'clamp'})
    const html = await (await get(authorizeUrl(mock, {scope: 'user:read llm_gateway:write'}))).text()
    expect(html).toContain('<code>user:read</code>')
    expect(html).not.toContain('llm_gateway:write')
  })

  it('* under an explicit ceiling expands to the ceiling', async () => {
    const mock = startMock({policy: 'clamp'})
    mock.control.upsertApp({client_id: US_CLIENT, scopes: ['user:read', 'insight:write']})
    expect((await login(mock, {scope: '*'})).scope).toBe('user:read insight:write insight:read')
  })

  it('nothing left after clamping -> invalid_scope', async () => {
    const mock = startMock({policy: 'clamp'})
    expect(redirectParams(await get(authorizeUrl(mock, {scope: 'llm_gateway:write'}))).get('error')).toBe('invalid_scope')
  })

  it('the policy is per instance and switchable at runtime', async () => {
    const reject = startMock({issuer: 'https://reject.example.com'})
    const clamp = startMock({issuer: 'https://clamp.example.com', policy: 'clamp'})
    for (const mock of [reject, clamp]) mock.control.upsertApp({client_id: 'app', scopes: ['user:read'], redirect_uris: [CALLBACK]})
    expect(redirectParams(await get(authorizeUrl(reject, {clientId: 'app', scope: 'user:read project:read'}))).get('error')).toBe('invalid_scope')
    expect((await login(clamp, {clientId: 'app', scope: 'user:read project:read'})).scope).toBe('user:read')
    reject.control.configure({policy: 'clamp'})
    expect((await login(reject, {clientId: 'app', scope: 'user:read project:read'})).scope).toBe('user:read')
  })
})

describe('/oauth/authorize: consent, login and approval', () => {
  it('shows a consent page with the scopes, Authorize and Deny buttons, and the request in hidden inputs', async () => {
    const mock = startMock()
    const {challenge} = pkce()
    const response = await get(authorizeUrl(mock, {scope: 'user:read project:read', state: 'abc', challenge, nonce: 'n-1'}))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/html')
    const html = await response.text()
    expect(html).toContain('dev@example.com')
    expect(html).toContain('<code>project:read</code>')
    const form = parseForm(html)
    expect(form.action).toBe('https://us.posthog.com/oauth/authorize/')
    expect(form.buttons.map((button) => button.label)).toEqual(['Authorize', 'Deny'])
    expect(form.fields).toEqual({
      client_id: US_CLIENT,
      redirect_uri: CALLBACK,
      response_type: 'code',
      state: 'abc',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'user:read project:read',
      nonce: 'n-1',
    })
  })

  it('Authorize -> 302 to redirect_uri with code and state', async () => {
    const mock = startMock()
    const response = await submitConsent(await get(authorizeUrl(mock, {scope: 'user:read', state: 'xyz'})), 'allow')
    expect(response.status).toBe(302)
    const params = redirectParams(response)
    expect(params.get('code')).toMatch(/^[A-Za-z0-9]{30}$/)
    expect(params.get('state')).toBe('xyz')
    expect(params.has('iss')).toBe(false)
  })

  it('Deny -> 302 with error=access_denied and the state', async () => {
    const mock = startMock()
    const response = await submitConsent(await get(authorizeUrl(mock, {scope: 'user:read', state: 'no'})), 'deny')
    const params = redirectParams(response)
    expect(params.get('error')).toBe('access_denied')
    expect(params.get('state')).toBe('no')
    expect(params.get('code')).toBeNull()
  })

  it('auto-approve mode redirects straight away, switchable at runtime', async () => {
    const mock = startMock({autoApprove: true})
    expect(redirectParams(await get(authorizeUrl(mock, {scope: 'user:read'}))).get('code')).toBeTruthy()
    mock.control.configure({auto_approve: false})
    expect((await get(authorizeUrl(mock, {scope: 'user:read'}))).status).toBe(200)
  })

  it('first-party apps skip consent', async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: US_CLIENT, first_party: true})
    const response = await get(authorizeUrl(mock, {scope: 'user:read'}))
    expect(response.status).toBe(302)
    expect(redirectParams(response).get('code')).toBeTruthy()
  })

  it('not logged in -> login page first, then back to the consent page', async () => {
    const mock = startMock()
    mock.control.configure({signed_in: false})
    const first = await get(authorizeUrl(mock, {scope: 'user:read', state: 'after-login'}))
    expect(first.status).toBe(302)
    const loginUrl = first.headers.get('location')!
    expect(loginUrl.startsWith('https://us.posthog.com/login?next=')).toBe(true)
    const loginPage = parseForm(await (await get(loginUrl)).text())
    const back = await postForm(loginPage.action, loginPage.fields)
    const consent = await get(back.headers.get('location')!)
    expect(consent.status).toBe(200)
    expect(redirectParams(await submitConsent(consent, 'allow')).get('state')).toBe('after-login')
  })

  it('sends RFC 9207 iss on every authorize redirect only when issParameter is on', async () => {
    const mock = startMock({issParameter: true, autoApprove: true})
    expect(redirectParams(await get(authorizeUrl(mock, {scope: 'user:read'}))).get('iss')).toBe('https://us.posthog.com')
    expect(redirectParams(await get(authorizeUrl(mock, {scope: 'llm_gateway:write'}))).get('iss')).toBe('https://us.posthog.com')
    const {params} = await authorizeAndConsent(startMock({issuer: 'https://plain.example.com'}), {scope: 'user:read'})
    expect(params.has('iss')).toBe(false)
  })
})
