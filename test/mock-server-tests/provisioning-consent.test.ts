/**
 * server.md section 4, "Consent for existing users": the redirect to the consent page, its errors, the
 * pending/confirm API the page uses, the deny path (a mock choice), and the page clicked by
 * scripts/scripted-browser.mjs the way the end-to-end tests click it.
 */
import {http, HttpResponse} from 'msw'
import {describe, expect, it} from 'vitest'

import {follow} from '../../scripts/scripted-browser.mjs'
import {get, openConsent, parseForm, postJson, provisioningToken, redirectParams, requireAuth, startMock, submitConsent, US_CLIENT, useHandlers, useMsw} from './helpers.js'

useMsw()

type Mock = ReturnType<typeof startMock>

const pendingUrl = (mock: Mock, state: string) => `${mock.issuer}/api/agentic/authorize/pending/?state=${state}`
const confirm = (mock: Mock, body: Record<string, unknown>) => postJson(`${mock.issuer}/api/agentic/authorize/confirm/`, body)

describe('GET /api/agentic/authorize?state=', () => {
  it('sends the signed-in browser to the consent page /agentic/authorize?state=', async () => {
    const mock = startMock()
    const {body, state} = await requireAuth(mock)
    const response = await get(body.requires_auth.url)
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe(`https://us.posthog.com/agentic/authorize?state=${state}`)
    const page = await get(response.headers.get('location')!)
    const html = await page.text()
    expect(html).toContain('<code>project:read</code>')
    expect(parseForm(html).buttons.map((button) => button.label)).toEqual(['Authorize', 'Deny'])
  })

  it('errors go to the page as ?error=missing_state|expired_or_invalid_state|partner_deactivated|missing_callback', async () => {
    const mock = startMock()
    const location = async (url: string) => new URL((await get(url)).headers.get('location')!).searchParams.get('error')
    expect(await location(`${mock.issuer}/api/agentic/authorize`)).toBe('missing_state')
    expect(await location(`${mock.issuer}/api/agentic/authorize?state=nope`)).toBe('expired_or_invalid_state')
    const {body} = await requireAuth(mock)
    mock.control.upsertApp({client_id: US_CLIENT, provisioning: {active: false}})
    expect(await location(body.requires_auth.url)).toBe('partner_deactivated')
    mock.control.upsertApp({client_id: US_CLIENT, provisioning: {active: true}, redirect_uris: []})
    expect(await location(body.requires_auth.url)).toBe('missing_callback')
    const page = await openConsent(`${mock.issuer}/api/agentic/authorize?state=nope`)
    expect(await page.text()).toContain('data-error="expired_or_invalid_state"')
  })

  it('the pending state lives 600 s', async () => {
    const mock = startMock()
    const {body} = await requireAuth(mock)
    mock.clock.advance(599)
    expect(new URL((await get(body.requires_auth.url)).headers.get('location')!).searchParams.get('state')).toBeTruthy()
    mock.clock.advance(1)
    expect(new URL((await get(body.requires_auth.url)).headers.get('location')!).searchParams.get('error')).toBe('expired_or_invalid_state')
  })

  it('login required: a signed-out browser goes to the login page first', async () => {
    const mock = startMock()
    mock.control.configure({signed_in: false})
    const {body} = await requireAuth(mock)
    const response = await get(body.requires_auth.url)
    expect(new URL(response.headers.get('location')!).pathname).toBe('/login')
  })

  it('auto-approve: straight back to the first redirect URI with a code', async () => {
    const mock = startMock({autoApprove: true})
    const {body} = await requireAuth(mock)
    const response = await get(body.requires_auth.url)
    expect(response.headers.get('location')!.startsWith('http://localhost:8239/callback?code=')).toBe(true)
  })
})

describe('the page API: GET …/authorize/pending/, POST …/authorize/confirm/', () => {
  it('pending describes the request; confirm {state, team_id} -> {redirect_url: "<FIRST redirect_uri>?code=…&state=…"}', async () => {
    const mock = startMock()
    const {state, verifier} = await requireAuth(mock)
    const pending = await get(pendingUrl(mock, state))
    expect(pending.status).toBe(200)
    expect(await pending.json()).toMatchObject({
      state,
      client_id: US_CLIENT,
      scopes: ['user:read', 'project:read'],
      user: {email: 'dev@example.com'},
      teams: [{id: 1, name: 'Default project', organization_name: 'Example Org'}],
    })
    const response = await confirm(mock, {state, team_id: 1})
    expect(response.status).toBe(200)
    const {redirect_url: redirectUrl} = (await response.json()) as {redirect_url: string}
    const url = new URL(redirectUrl)
    expect(`${url.origin}${url.pathname}`).toBe('http://localhost:8239/callback')
    expect(url.searchParams.get('state')).toBe(state)
    const tokens = await provisioningToken(mock, {grant_type: 'authorization_code', code: url.searchParams.get('code')!, code_verifier: verifier})
    expect(await tokens.json()).toMatchObject({account: {available_teams: [{id: 1, name: 'Default project'}]}})
  })

  it('the token is scoped to the team chosen on the page', async () => {
    const mock = startMock()
    const second = mock.state.users.get('dev@example.com')!
    const {addTeam} = await import('../mock-server/state.js')
    const team = addTeam(mock.state, second, 'Second project')
    const {state, verifier} = await requireAuth(mock)
    const {redirect_url: redirectUrl} = (await (await confirm(mock, {state, team_id: team.id})).json()) as {redirect_url: string}
    const code = new URL(redirectUrl).searchParams.get('code')!
    const tokens = (await (await provisioningToken(mock, {grant_type: 'authorization_code', code, code_verifier: verifier})).json()) as {account: {available_teams: Array<{id: number}>}}
    expect(tokens.account.available_teams.map((available) => available.id)).toEqual([team.id])
  })

  it('the first redirect URI follows the app registration order', async () => {
    const mock = startMock()
    mock.control.upsertApp({client_id: US_CLIENT, redirect_uris: ['http://localhost:9999/done', 'http://localhost:8239/callback']})
    const {state} = await requireAuth(mock)
    const {redirect_url: redirectUrl} = (await (await confirm(mock, {state, team_id: 1})).json()) as {redirect_url: string}
    expect(redirectUrl.startsWith('http://localhost:9999/done?code=')).toBe(true)
  })

  it('a state works once; a team that is not the user\'s is refused; unknown states are 400', async () => {
    const mock = startMock()
    const {state} = await requireAuth(mock)
    expect(await (await confirm(mock, {state, team_id: 999})).json()).toMatchObject({error: 'invalid_team'})
    expect((await confirm(mock, {state, team_id: 1})).status).toBe(200)
    const again = await confirm(mock, {state, team_id: 1})
    expect(again.status).toBe(400)
    expect(await again.json()).toMatchObject({error: 'expired_or_invalid_state'})
    expect((await get(pendingUrl(mock, state))).status).toBe(400)
  })

  it('deny (mock choice): POST …/authorize/deny/ -> redirect_url with error=access_denied and the state', async () => {
    const mock = startMock()
    const {state} = await requireAuth(mock)
    const {redirect_url: redirectUrl} = (await (await postJson(`${mock.issuer}/api/agentic/authorize/deny/`, {state})).json()) as {redirect_url: string}
    const params = new URL(redirectUrl).searchParams
    expect(params.get('error')).toBe('access_denied')
    expect(params.get('state')).toBe(state)
    expect(params.get('code')).toBeNull()
  })
})

describe('the consent page without scripts (its form posts to /agentic/authorize)', () => {
  it('Authorize -> 302 to the first redirect URI with code and state; Deny -> error=access_denied', async () => {
    const mock = startMock()
    const allowed = await requireAuth(mock)
    const approved = await submitConsent(await openConsent(allowed.body.requires_auth.url), 'allow')
    expect(approved.status).toBe(302)
    expect(redirectParams(approved).get('state')).toBe(allowed.state)
    expect(redirectParams(approved).get('code')).toBeTruthy()
    const denied = await requireAuth(mock)
    const params = redirectParams(await submitConsent(await openConsent(denied.body.requires_auth.url), 'deny'))
    expect(params.get('error')).toBe('access_denied')
    expect(params.get('state')).toBe(denied.state)
  })

  it('scripts/scripted-browser.mjs clicks through it to the callback', async () => {
    const mock = startMock()
    const {body, state, verifier} = await requireAuth(mock)
    const callbacks: URLSearchParams[] = []
    useHandlers(
      http.get('http://localhost:8239/callback', ({request}) => {
        callbacks.push(new URL(request.url).searchParams)
        return HttpResponse.text('done')
      }),
    )
    await follow(body.requires_auth.url)
    expect(callbacks).toHaveLength(1)
    expect(callbacks[0]!.get('state')).toBe(state)
    const tokens = await provisioningToken(mock, {grant_type: 'authorization_code', code: callbacks[0]!.get('code')!, code_verifier: verifier})
    expect(tokens.status).toBe(200)
  })

  it('the page calls the real API when scripts run: it names the pending, confirm and deny URLs', async () => {
    const mock = startMock()
    const html = await (await openConsent((await requireAuth(mock)).body.requires_auth.url)).text()
    for (const path of ['/api/agentic/authorize/pending/', '/api/agentic/authorize/confirm/', '/api/agentic/authorize/deny/']) expect(html).toContain(`${mock.issuer}${path}`)
    expect(html).toContain('window.location.assign(answer.redirect_url)')
  })
})
