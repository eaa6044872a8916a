/**
 * Two control settings for the CLI's tests, on both token surfaces: `access_token_ttl` (real expiry in
 * seconds) and `mint_scopes_drop` (a server that mints fewer scopes than requested and allowed).
 */
import {describe, expect, it} from 'vitest'

import {grantedScopes, introspect, login, me, postJson, provisioningToken, refresh, resourcesRequest, signupTokens, startMock, statusErrorOf, useMsw} from './helpers.js'

useMsw()

describe('access_token_ttl', () => {
  it('every token issued afterwards lives that long: OAuth login and refresh', async () => {
    const mock = startMock({autoApprove: true})
    mock.control.configure({access_token_ttl: 120})
    const tokens = await login(mock, {scope: 'user:read'})
    expect(tokens.expires_in).toBe(120)
    mock.clock.advance(119)
    expect((await me(mock, tokens.access_token)).status).toBe(200)
    mock.clock.advance(1)
    expect((await me(mock, tokens.access_token)).status).toBe(401)
    expect(((await (await refresh(mock, tokens.refresh_token)).json()) as {expires_in: number}).expires_in).toBe(120)
  })

  it('provisioning: expires_in follows it, and the resource endpoints answer "Access token expired" after it', async () => {
    const mock = startMock()
    expect((await postJson(`${mock.issuer}/__mock/config`, {access_token_ttl: 5})).status).toBe(200)
    const tokens = await signupTokens(mock, {email: 'ttl@example.com', scopes: ['user:read']})
    expect(tokens.expires_in).toBe(5)
    mock.clock.advance(5)
    expect(await statusErrorOf(await resourcesRequest(mock, tokens.access_token))).toMatchObject({status: 401, message: 'Access token expired'})
    const refreshed = (await (await provisioningToken(mock, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token})).json()) as {expires_in: number}
    expect(refreshed.expires_in).toBe(5)
  })

  it('null restores the default (3600 s); a negative value is refused', async () => {
    const mock = startMock()
    mock.control.configure({access_token_ttl: 5})
    mock.control.configure({access_token_ttl: null})
    expect((await signupTokens(mock, {email: 'd@example.com', scopes: ['user:read']})).expires_in).toBe(3600)
    expect(() => mock.control.configure({access_token_ttl: -1})).toThrow(/access_token_ttl/)
  })
})

describe('mint_scopes_drop: fewer scopes than requested', () => {
  it('OAuth: the token and its scope field lack the dropped scopes', async () => {
    const mock = startMock({autoApprove: true})
    mock.control.configure({mint_scopes_drop: ['event_definition:write']})
    const tokens = await login(mock, {scope: 'user:read event_definition:write'})
    // The consent added the read half of the write (PR #81072); only the dropped scope is missing.
    expect(tokens.scope).toBe('user:read event_definition:read')
    expect(await grantedScopes(mock, tokens.access_token)).toEqual(['user:read', 'event_definition:read'])
  })

  it('provisioning: the token (seen through introspection) lacks them; the response looks like any other', async () => {
    const mock = startMock()
    expect((await postJson(`${mock.issuer}/__mock/config`, {mint_scopes_drop: ['event_definition:write']})).status).toBe(200)
    const tokens = await signupTokens(mock, {email: 'short@example.com', scopes: ['user:read', 'event_definition:write']})
    expect(tokens).not.toHaveProperty('scope')
    expect(await introspect(mock, tokens.access_token)).toMatchObject({active: true, scope: 'user:read'})
  })

  it('[] restores full minting', async () => {
    const mock = startMock()
    mock.control.configure({mint_scopes_drop: ['user:read']})
    mock.control.configure({mint_scopes_drop: []})
    const tokens = await signupTokens(mock, {email: 'full@example.com', scopes: ['user:read']})
    expect(await grantedScopes(mock, tokens.access_token)).toEqual(['user:read'])
  })
})
