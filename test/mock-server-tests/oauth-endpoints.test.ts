import {describe, expect, it} from 'vitest'

import {UNPRIVILEGED_SCOPES} from '../mock-server/scopes.js'
import {authorizeUrl, bearer, CALLBACK, get, introspect, login, me, postForm, postJson, redirectParams, refresh, startMock, US_CLIENT, useMsw} from './helpers.js'

useMsw()

function revoke(mock: ReturnType<typeof startMock>, fields: Record<string, string>) {
  return postForm(`${mock.issuer}/oauth/revoke/`, {client_id: US_CLIENT, ...fields})
}

describe('/oauth/revoke (RFC 7009)', () => {
  it('revoking a refresh token ends it and its access tokens; counted once', async () => {
    const mock = startMock()
    const tokens = await login(mock, {scope: 'user:read'})
    const response = await revoke(mock, {token: tokens.refresh_token, token_type_hint: 'refresh_token'})
    expect(response.status).toBe(200)
    expect((await refresh(mock, tokens.refresh_token)).status).toBe(400)
    expect((await me(mock, tokens.access_token)).status).toBe(401)
    expect(mock.control.snapshot().counters.revocations).toBe(1)
  })

  it('a revoked refresh token gets no grace period', async () => {
    const mock = startMock()
    const tokens = await login(mock, {scope: 'user:read'})
    await revoke(mock, {token: tokens.refresh_token})
    expect(await (await refresh(mock, tokens.refresh_token)).json()).toMatchObject({error: 'invalid_grant'})
  })

  it('revoking one token ends every session of that user with that app (posthog/models/oauth.py revoke_oauth_session)', async () => {
    const mock = startMock()
    const first = await login(mock, {scope: 'user:read'})
    const second = await login(mock, {scope: 'user:read'})
    await revoke(mock, {token: first.access_token})
    expect((await me(mock, first.access_token)).status).toBe(401)
    expect((await refresh(mock, first.refresh_token)).status).toBe(400)
    expect((await me(mock, second.access_token)).status).toBe(401)
    expect(await (await refresh(mock, second.refresh_token)).json()).toMatchObject({error: 'invalid_grant'})
    expect(mock.control.events().find((event) => event.event === 'oauth.revoke')).toMatchObject({tokens_revoked: 4})
  })

  it("another app's sessions of the same user are not touched", async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: 'other-app', scopes: ['user:read'], redirect_uris: [CALLBACK]})
    const mine = await login(mock, {scope: 'user:read'})
    const other = await login(mock, {scope: 'user:read', clientId: 'other-app'})
    await revoke(mock, {token: mine.refresh_token})
    expect((await me(mock, other.access_token)).status).toBe(200)
  })

  it('unknown tokens get 200 too, and are not counted', async () => {
    const mock = startMock()
    expect((await revoke(mock, {token: 'phr_unknown'})).status).toBe(200)
    expect(mock.control.snapshot().counters.revocations).toBe(0)
  })

  it('missing token -> 400 invalid_request; unknown client -> 401 invalid_client', async () => {
    const mock = startMock()
    expect(await (await revoke(mock, {})).json()).toMatchObject({error: 'invalid_request'})
    const response = await revoke(mock, {token: 'x', client_id: 'nobody'})
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({error: 'invalid_client'})
  })

  it('answers without the trailing slash too', async () => {
    const mock = startMock()
    expect((await postForm(`${mock.issuer}/oauth/revoke`, {client_id: US_CLIENT, token: 'x'})).status).toBe(200)
  })
})

describe('/oauth/introspect (RFC 7662), as posthog/api/oauth/views.py OAuthIntrospectTokenView', () => {
  const url = (mock: ReturnType<typeof startMock>) => `${mock.issuer}/oauth/introspect/`

  it('self-introspection: an access token reads itself back with the fields the code writes', async () => {
    const mock = startMock()
    const tokens = await login(mock, {scope: 'user:read project:read'})
    const body = await introspect(mock, tokens.access_token)
    expect(body).toEqual({
      active: true,
      token_type: 'access_token',
      scope: 'user:read project:read',
      scoped_teams: [1],
      scoped_organizations: [expect.any(String)],
      exp: Math.floor(Date.UTC(2026, 10, 23, 12) / 1000) + 3600,
      client_id: US_CLIENT,
      client_name: 'PostHog Wizard (US)',
    })
  })

  it('a JSON body and a GET query work too', async () => {
    const mock = startMock()
    const tokens = await login(mock, {scope: 'user:read'})
    const viaJson = await postJson(url(mock), {token: tokens.access_token}, bearer(tokens.access_token))
    expect(await viaJson.json()).toMatchObject({active: true})
    const viaGet = await get(`${url(mock)}?token=${tokens.access_token}`, bearer(tokens.access_token))
    expect(await viaGet.json()).toMatchObject({active: true})
  })

  it("a public client's client_id alone, anonymous callers and another token without the introspection scope get the bare 403", async () => {
    const mock = startMock()
    const subject = await login(mock, {scope: 'user:read'})
    const other = await login(mock, {scope: 'user:read'})
    for (const response of [
      await postForm(url(mock), {token: subject.access_token, client_id: US_CLIENT}),
      await postForm(url(mock), {token: subject.access_token}),
      await postForm(url(mock), {token: subject.access_token}, bearer(other.access_token)),
    ]) {
      expect(response.status).toBe(403)
      expect(await response.text()).toBe('')
    }
  })

  it('a Bearer token with the introspection scope may introspect any token, refresh tokens included', async () => {
    const mock = startMock()
    const caller = await login(mock, {scope: 'introspection'})
    const subject = await login(mock, {scope: 'user:read'})
    expect(await (await postForm(url(mock), {token: subject.access_token}, bearer(caller.access_token))).json()).toMatchObject({active: true, token_type: 'access_token'})
    const refreshBody = (await (await postForm(url(mock), {token: subject.refresh_token}, bearer(caller.access_token))).json()) as Record<string, unknown>
    expect(refreshBody).toMatchObject({active: true, token_type: 'refresh_token', client_id: US_CLIENT})
    expect(refreshBody).not.toHaveProperty('scope')
    expect(refreshBody).not.toHaveProperty('exp')
  })

  it("a confidential client's credentials introspect its own tokens only", async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: 'confidential-app', client_secret: 's3cret', scopes: ['user:read'], redirect_uris: [CALLBACK]})
    const own = await login(mock, {scope: 'user:read', clientId: 'confidential-app'})
    const foreign = await login(mock, {scope: 'user:read'})
    expect(await (await postForm(url(mock), {token: own.access_token, client_id: 'confidential-app', client_secret: 's3cret'})).json()).toMatchObject({active: true})
    expect(await (await postForm(url(mock), {token: foreign.access_token, client_id: 'confidential-app', client_secret: 's3cret'})).json()).toEqual({active: false})
    const basic = {authorization: `Basic ${Buffer.from('confidential-app:s3cret').toString('base64')}`}
    expect(await (await postForm(url(mock), {token: own.access_token}, basic)).json()).toMatchObject({active: true})
    expect((await postForm(url(mock), {token: own.access_token, client_id: 'confidential-app', client_secret: 'wrong'})).status).toBe(403)
  })

  it('an expired token introspecting itself is {active:false}; a revoked one no longer exists: 403', async () => {
    const mock = startMock()
    const tokens = await login(mock, {scope: 'user:read'})
    mock.control.expireTokens()
    expect(await introspect(mock, tokens.access_token)).toEqual({active: false})
    const fresh = await login(mock, {scope: 'user:read'})
    await postForm(`${mock.issuer}/oauth/revoke/`, {client_id: US_CLIENT, token: fresh.access_token})
    expect(await introspect(mock, fresh.access_token)).toEqual({status: 403})
  })

  it('an unknown token asked by an authorized caller is {active:false} and nothing else', async () => {
    const mock = startMock()
    const caller = await login(mock, {scope: 'introspection'})
    expect(await (await postForm(url(mock), {token: 'pha_unknown'}, bearer(caller.access_token))).json()).toEqual({active: false})
  })
})

describe('/oauth/register (RFC 7591)', () => {
  const register = (mock: ReturnType<typeof startMock>, body: Record<string, unknown>) => postJson(`${mock.issuer}/oauth/register/`, body)

  it('201 with a client_id; scope filtered to UNPRIVILEGED', async () => {
    const mock = startMock()
    const response = await register(mock, {redirect_uris: ['http://127.0.0.1/callback'], client_name: 'my tool', scope: 'user:read llm_gateway:read wizard_session:read insight:write'})
    expect(response.status).toBe(201)
    const body = (await response.json()) as {client_id: string; scope: string}
    expect(body).toMatchObject({client_name: 'my tool', token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1/callback'], scope: 'user:read insight:write'})
    expect(mock.control.snapshot().apps.find((app) => app.client_id === body.client_id)).toMatchObject({scopes: ['user:read', 'insight:write'], first_party: false})
  })

  it('a registered app can log in within its scopes and is refused a privileged one', async () => {
    const mock = startMock()
    const {client_id: clientId} = (await (await register(mock, {redirect_uris: [CALLBACK], scope: 'user:read llm_gateway:read'})).json()) as {client_id: string}
    expect((await login(mock, {clientId, scope: 'user:read'})).scope).toBe('user:read')
    expect(redirectParams(await get(authorizeUrl(mock, {clientId, scope: 'llm_gateway:read'}))).get('error')).toBe('invalid_scope')
  })

  it('no scope -> every unprivileged scope (never privileged or hidden)', async () => {
    const mock = startMock()
    const {client_id: clientId} = (await (await register(mock, {redirect_uris: [CALLBACK]})).json()) as {client_id: string}
    expect(mock.control.snapshot().apps.find((app) => app.client_id === clientId)!.scopes).toEqual(UNPRIVILEGED_SCOPES)
  })

  it('only privileged/hidden scopes -> 400 invalid_client_metadata', async () => {
    const mock = startMock()
    const response = await register(mock, {redirect_uris: [CALLBACK], scope: 'llm_gateway:read wizard_session:write'})
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({error: 'invalid_client_metadata'})
  })

  it('redirect_uris missing -> 400 invalid_redirect_uri; a confidential auth method -> invalid_client_metadata', async () => {
    const mock = startMock()
    expect(await (await register(mock, {client_name: 'x'})).json()).toMatchObject({error: 'invalid_redirect_uri'})
    expect(await (await register(mock, {redirect_uris: [CALLBACK], token_endpoint_auth_method: 'private_key_jwt'})).json()).toMatchObject({error: 'invalid_client_metadata'})
  })
})

describe('/oauth/userinfo/ (OIDC)', () => {
  it('returns sub, email and name of the token user', async () => {
    const mock = startMock()
    const tokens = await login(mock, {scope: 'openid user:read'})
    const user = (await (await me(mock, tokens.access_token)).json()) as {uuid: string}
    const response = await get(`${mock.issuer}/oauth/userinfo/`, bearer(tokens.access_token))
    expect(await response.json()).toMatchObject({sub: user.uuid, email: 'dev@example.com', name: 'Dev'})
  })

  it('401 for a bad token, 403 insufficient_scope without openid', async () => {
    const mock = startMock()
    const tokens = await login(mock, {scope: 'user:read'})
    expect((await get(`${mock.issuer}/oauth/userinfo/`, bearer('pha_nope'))).status).toBe(401)
    const response = await get(`${mock.issuer}/oauth/userinfo`, bearer(tokens.access_token))
    expect(response.status).toBe(403)
    expect(response.headers.get('www-authenticate')).toContain('insufficient_scope')
  })
})

describe('GET /api/users/@me/', () => {
  it('returns uuid, email, first_name, organization and team', async () => {
    const mock = startMock()
    const tokens = await login(mock, {scope: 'user:read'})
    const response = await me(mock, tokens.access_token)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      email: 'dev@example.com',
      first_name: 'Dev',
      organization: {id: expect.any(String), name: 'Example Org'},
      team: {id: 1, name: 'Default project'},
    })
  })

  it('401 for a missing, unknown or expired token', async () => {
    const mock = startMock()
    const tokens = await login(mock, {scope: 'user:read'})
    expect((await get(`${mock.issuer}/api/users/@me/`)).status).toBe(401)
    expect((await me(mock, 'pha_22222222222222222222222222222222222222222222')).status).toBe(401)
    mock.control.expireTokens()
    expect((await me(mock, tokens.access_token)).status).toBe(401)
  })

  it("403 without user:read, with PostHog's exact wording", async () => {
    const mock = startMock()
    const tokens = await login(mock, {scope: 'project:read'})
    const response = await me(mock, tokens.access_token)
    expect(response.status).toBe(403)
    expect(await response.json()).toEqual({detail: "API key missing required scope 'user:read'"})
  })

  it('user:write satisfies user:read; the path works without the trailing slash', async () => {
    const mock = startMock()
    const tokens = await login(mock, {scope: 'user:write'})
    expect((await get(`${mock.issuer}/api/users/@me`, bearer(tokens.access_token))).status).toBe(200)
  })
})
