// Interop with servers stricter (or terser) than PostHog, against the mock with MSW overrides: the nonce,
// missing scopes judged by what the login asked for, a redirect the server refuses, a revocation it
// refuses, and a refresh refused without an error body.
import {http, HttpResponse} from 'msw'
import {describe, expect, it} from 'vitest'

import {ExitCode} from '../../src/errors.js'
import {login} from '../../src/flows/login.js'
import {logout} from '../../src/flows/logout.js'
import {status} from '../../src/flows/status.js'
import {token} from '../../src/flows/token.js'
import {harnessPerTest, loginDefaults, storedSessions, US_ISSUER} from '../support/harness.js'

const {start, loggedIn} = harnessPerTest()

/** The ID token's claims, read without checking (openid-client checked it during the login). */
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>

describe('interop', () => {
  it('sends a nonce whenever openid is requested, and the ID token must carry it', async () => {
    const h = await start()
    const idTokens: string[] = []
    h.server.events.on('response:mocked', async ({request, response}) => {
      if (new URL(request.url).pathname.startsWith('/oauth/token')) {
        const body = (await response.clone().json()) as {id_token?: string}
        if (body.id_token) idTokens.push(body.id_token)
      }
    })
    await login(h.deps, {...loginDefaults, scopes: 'openid email user:read'})
    const nonce = new URL(h.opened[0]!).searchParams.get('nonce')
    expect(nonce).toMatch(/^[\w-]{40,}$/)
    expect(claimsOf(idTokens[0]!).nonce).toBe(nonce)
    // Without openid, no nonce (plain OAuth 2).
    await login(h.deps, loginDefaults)
    expect(new URL(h.opened[1]!).searchParams.has('nonce')).toBe(false)
  })

  it('an ID token without the nonce is refused (exit 1, id_token_invalid), nothing stored', async () => {
    const h = await start()
    // The authorization request reaches the server without its nonce: its ID token cannot carry it.
    h.browser.action = async (url) => {
      const stripped = new URL(url)
      stripped.searchParams.delete('nonce')
      const {follow} = await import('../../scripts/scripted-browser.mjs')
      await follow(stripped.href)
    }
    const error = await login(h.deps, {...loginDefaults, scopes: 'openid email user:read'}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.unexpected, code: 'id_token_invalid'})
    expect((error as Error).message).toMatch(/without the nonce/)
    expect(await storedSessions(h.deps)).toEqual([])
  })

  it("status judges missing scopes by what that login asked for, not the built-in set", async () => {
    const h = await start()
    await login(h.deps, {...loginDefaults, scopes: 'openid email user:read'})
    const [view] = (await status(h.deps, {})).sessions
    expect(view!.scopes).toEqual(expect.arrayContaining(['openid', 'email', 'user:read']))
    expect(view!.missing_required_scopes).toEqual([])
    // What it was judged against is shown: the scopes that login asked for.
    expect(view).toMatchObject({requested_scopes: ['openid', 'email', 'user:read'], required_scopes: ['openid', 'email', 'user:read']})
    const [stored] = await storedSessions(h.deps)
    expect(stored).toMatchObject({requested_scopes: ['openid', 'email', 'user:read'], required_scopes: ['openid', 'email', 'user:read']})
  })

  it('a session written before the requested scopes were kept is still read, and judged against the built-in set', async () => {
    const h = await loggedIn()
    const store = await h.deps.sessions()
    const [session] = await storedSessions(h.deps)
    const {requested_scopes: _requested, required_scopes: _required, ...old} = session!
    await store.save({...old, scope: ['user:read']})
    const [view] = (await status(h.deps, {})).sessions
    expect(view!.missing_required_scopes).toEqual(expect.arrayContaining(['project:read', 'dashboard:write']))
    // What it asked for is unknown (null); what it is judged against is the built-in required set.
    expect(view!.requested_scopes).toBeNull()
    expect(view!.required_scopes).toEqual(expect.arrayContaining(['project:read', 'dashboard:write']))
  })

  it('a revocation the server refuses (401, empty body) names the status and the cause; the session is deleted anyway', async () => {
    const h = await loggedIn()
    h.server.use(http.post(`${US_ISSUER}/oauth/revoke/`, () => new HttpResponse(null, {status: 401})))
    const result = await logout(h.deps, {selection: {}, all: false})
    expect(result.logged_out[0]).toMatchObject({revoked: false})
    const said = h.stderr.text()
    expect(said).toMatch(/refused to revoke the token \(HTTP 401, no error in the answer\): it wants the client to authenticate/)
    expect(said).not.toMatch(/content-type/)
    expect(said).toMatch(/deleted locally anyway/)
    expect(await storedSessions(h.deps)).toEqual([])
  })

  it('a refresh refused with a bare 400 (no error body) is an expired session: exit 5 with the next step, never exit 1', async () => {
    const h = await loggedIn()
    h.server.use(http.post(`${US_ISSUER}/oauth/token/`, () => new HttpResponse(null, {status: 400})))
    h.advance(3600)
    const error = await token(h.deps, {minValidSeconds: 60}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.sessionExpired, nextCommand: 'onramp login'})
    expect((error as Error).message).toMatch(/HTTP 400/)
  })
})

describe('a redirect the server refuses before the browser comes back', () => {
  const ISSUER = 'https://auth.strict.example'

  it('is warned about while waiting and explained at the timeout: the port, and --port with a registered one', async () => {
    const h = await start({issuer: ISSUER})
    h.mock.control.upsertApp({client_id: 'strict-app', scopes: ['user:read'], redirect_uris: ['http://127.0.0.1:9/callback']})
    // Like the server that refuses unregistered ports: 403, empty body, and the browser never comes back.
    h.server.use(http.get(`${ISSUER}/oauth/authorize/`, () => new HttpResponse(null, {status: 403})))
    h.browser.action = () => {}
    const error = await login(h.deps, {browser: true, timeoutSeconds: 2, host: ISSUER, clientId: 'strict-app', scopes: 'user:read'}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.notLoggedIn, code: 'login_timeout'})
    const message = (error as Error).message
    expect(message).toMatch(/refused the authorization request before any login page \(HTTP 403, no explanation\)/)
    expect(message).toMatch(/port \d+/)
    expect(message).toMatch(/onramp login --port N with a port registered for strict-app/)
    expect(h.stderr.text()).toMatch(/Warning: The server refused the authorization request/)
  })

  it("the server's own error page about the redirect (the mock's 'Mismatching redirect URI') is read the same way", async () => {
    const h = await start({issuer: ISSUER})
    h.mock.control.upsertApp({client_id: 'strict-app', scopes: ['user:read'], redirect_uris: ['https://app.example/callback']})
    h.browser.action = () => {}
    const error = await login(h.deps, {browser: true, timeoutSeconds: 2, host: ISSUER, clientId: 'strict-app', scopes: 'user:read'}).catch((caught: unknown) => caught)
    expect((error as Error).message).toMatch(/before any login page \(HTTP 400 \(Invalid request\)\): the likely cause is that it does not accept the redirect/)
  })

  it('with no refusal seen, the timeout still names the likely cause', async () => {
    const h = await start({issuer: ISSUER})
    h.mock.control.upsertApp({client_id: 'strict-app', scopes: ['user:read'], redirect_uris: ['http://127.0.0.1/callback']})
    h.browser.action = () => {}
    const error = await login(h.deps, {browser: true, timeoutSeconds: 1, host: ISSUER, clientId: 'strict-app', scopes: 'user:read'}).catch((caught: unknown) => caught)
    expect((error as Error).message).toMatch(/If the browser showed an error page instead of coming back here, the likely cause .*--port/)
    expect(h.stderr.text()).not.toMatch(/Warning: The server refused/)
  })
})
