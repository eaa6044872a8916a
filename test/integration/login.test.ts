import {createServer} from 'node:net'

import {http, HttpResponse} from 'msw'
import {describe, expect, it} from 'vitest'

import {follow, landingUrl} from '../../scripts/scripted-browser.mjs'
import {ExitCode} from '../../src/errors.js'
import {checkScopes} from '../../src/flows/check-scopes.js'
import {login} from '../../src/flows/login.js'
import {renderScopeCheck} from '../../src/render/scopes.js'
import {renderLogin} from '../../src/render/login.js'
import {LOGIN_SCOPES} from '../../src/scopes/constant.js'
import {freeLoopbackPort} from '../support/free-port.js'
import {fakeBackend} from '../support/keyring.js'
import {waitForValue} from '../support/wait-for.js'
import {type Harness, harnessPerTest, loginDefaults, storedSessions, US_ISSUER, WIZARD_CLIENT_ID} from '../support/harness.js'

const {start: setup} = harnessPerTest()

/** A keychain that is not there (the real one may be, when the suite runs under scripts/with-keyring.sh). */
const noKeychain = () => Object.assign(fakeBackend(), {failWith: 'no Secret Service on the session bus'})
/** Binds host:port exclusively (fails with EADDRINUSE while anything still holds it), then releases it. */
async function bindAndRelease(port: number, host: string): Promise<void> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({port, host, exclusive: true}, resolve)
  })
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

const WIZARD_CEILING = ['@default', 'llm_gateway:read', 'wizard_session:read', 'wizard_session:write']

describe('onramp login against the mock (in-process)', () => {
  it('logs in through the consent page and stores the session', async () => {
    const h = await setup()
    const result = await login(h.deps, loginDefaults)
    expect(result).toMatchObject({
      session: {issuer: US_ISSUER, region: 'us', client_id: WIZARD_CLIENT_ID, user: {email: 'dev@example.com'}, storage: {kind: 'file'}, source: 'store', kind: 'oauth'},
      missing_optional_scopes: [],
    })
    // PostHog's consent grants X:read beside every X:write (PR #81072): what was asked for, plus those read halves.
    const readHalves = LOGIN_SCOPES.filter((scope) => scope.endsWith(':write')).map((scope) => scope.replace(/:write$/, ':read'))
    expect([...result.session.scopes!].sort()).toEqual([...new Set([...LOGIN_SCOPES, ...readHalves])].sort())
    expect(h.opened).toHaveLength(1)
    const url = new URL(h.opened[0]!)
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')
    expect(url.searchParams.get('client_id')).toBe(WIZARD_CLIENT_ID)
    expect(url.searchParams.get('state')).toMatch(/^[\w-]{43}$/)
    expect(url.searchParams.get('scope')!.split(' ')).toEqual([...LOGIN_SCOPES])
    const stored = await storedSessions(h.deps)
    expect(stored).toHaveLength(1)
    expect(stored[0]).toMatchObject({issuer: US_ISSUER, client_id: WIZARD_CLIENT_ID, region: 'us'})
    expect(stored[0]!.access_token).toMatch(/^pha_/)
    expect(h.mock.control.snapshot().counters.grants.authorization_code).toBe(1)
  })

  it('caches discovery: a second login fetches no metadata', async () => {
    const h = await setup()
    await login(h.deps, loginDefaults)
    await login(h.deps, loginDefaults)
    const requests = h.mock.control.snapshot().counters.requests
    const metadataRequests = Object.entries(requests)
      .filter(([key]) => key.includes('/.well-known/'))
      .reduce((sum, [, count]) => sum + count, 0)
    expect(metadataRequests).toBe(1)
  })

  const NARROWED_WITHOUT_DASHBOARD = ['user:read', 'project:read', 'query:read', 'insight:write', 'event_definition:write', 'llm_gateway:read', 'notebook:write']

  for (const policy of ['reject', 'clamp'] as const) {
    it(`${policy} policy: a required scope outside the app's ceiling stops before the browser opens (exit 4)`, async () => {
      const h = await setup({policy})
      h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: NARROWED_WITHOUT_DASHBOARD})
      const error = await login(h.deps, loginDefaults).catch((caught: unknown) => caught)
      expect(error).toMatchObject({exit: ExitCode.scope, code: 'invalid_scope', missing: ['dashboard:write']})
      expect((error as Error).message).toContain('dashboard:write (login, required)')
      expect((error as Error).message).toMatch(/ceiling/)
      expect((error as Error).message).toMatch(/server's admins/)
      expect(h.opened).toEqual([])
      expect(h.mock.control.events().find((event) => event.event === 'oauth.authorize.invalid_scope')).toBeUndefined()
      expect(h.logLines().find((line) => line.event === 'oauth.invalid_scope')).toMatchObject({source: 'ceiling', missing_scopes: ['dashboard:write'], ceiling: NARROWED_WITHOUT_DASHBOARD})
      expect(await (await h.deps.sessions()).list()).toEqual([])
    })
  }

  it("an optional scope outside the app's ceiling is not requested, with a warning; the login goes on", async () => {
    const h = await setup({policy: 'reject'})
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: ['user:read', 'project:read', 'query:read', 'insight:write', 'dashboard:write', 'event_definition:write', 'llm_gateway:read']})
    const result = await login(h.deps, loginDefaults)
    const requested = new URL(h.opened[0]!).searchParams.get('scope')!.split(' ')
    expect(requested).not.toContain('notebook:write')
    expect(requested).not.toContain('wizard_session:read')
    expect(h.stderr.text()).toMatch(/may not be granted these optional scopes .*notebook:write/)
    expect(result.session.missing_required_scopes).toEqual([])
  })

  /** The ceiling endpoint gone (an older server): the server's own refusal is the last line of defence. */
  const withoutCeilingEndpoint = (h: Harness) =>
    h.server.use(http.post(`${US_ISSUER}/api/agentic/provisioning/client_registration`, () => new HttpResponse(null, {status: 404})))

  it('without a readable ceiling, the reject policy refuses at authorization: exit 4, the server event and ours, nothing stored', async () => {
    const h = await setup({policy: 'reject'})
    withoutCeilingEndpoint(h)
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: NARROWED_WITHOUT_DASHBOARD})
    const error = await login(h.deps, loginDefaults).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.scope, code: 'invalid_scope'})
    expect((error as Error).message).toMatch(/server's admins/)
    const serverEvent = h.mock.control.events().find((event) => event.event === 'oauth.authorize.invalid_scope')
    expect(serverEvent).toMatchObject({level: 'warn', client_id: WIZARD_CLIENT_ID})
    expect(serverEvent!.missing_scopes).toEqual(expect.arrayContaining(['dashboard:write']))
    const ours = h.logLines().find((line) => line.event === 'oauth.invalid_scope')
    expect(ours).toMatchObject({source: 'authorize', client_id: WIZARD_CLIENT_ID, host: US_ISSUER})
    expect(h.logLines().find((line) => line.event === 'preflight.ceiling_skipped')).toBeDefined()
    expect(await (await h.deps.sessions()).list()).toEqual([])
  })

  it('without a readable ceiling, a clamped grant missing a required scope is detected (exit 4), revoked and not stored', async () => {
    const h = await setup({policy: 'clamp'})
    withoutCeilingEndpoint(h)
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: NARROWED_WITHOUT_DASHBOARD})
    const error = await login(h.deps, loginDefaults).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.scope, missing: ['dashboard:write']})
    expect((error as Error).message).toContain('dashboard:write (login, required)')
    expect(await (await h.deps.sessions()).list()).toEqual([])
    expect(h.mock.control.snapshot().counters.revocations).toBe(1)
    expect(h.logLines().find((line) => line.event === 'oauth.invalid_scope')).toMatchObject({source: 'grant', missing_scopes: ['dashboard:write']})
  })

  it('without a readable ceiling, a clamped grant missing optional scopes is a warning; the session is kept', async () => {
    const h = await setup({policy: 'clamp'})
    withoutCeilingEndpoint(h)
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: ['user:read', 'project:read', 'query:read', 'insight:write', 'dashboard:write', 'event_definition:write', 'llm_gateway:read']})
    const result = await login(h.deps, loginDefaults)
    expect(result.missing_optional_scopes).toEqual(expect.arrayContaining(['notebook:write', 'health_issue:read', 'organization:read']))
    expect(h.stderr.text()).toMatch(/did not grant these optional scopes: .*notebook:write/)
    expect(await (await h.deps.sessions()).list()).toHaveLength(1)
  })

  it('preflight: a required scope missing from scopes_supported stops before the browser opens (exit 4)', async () => {
    const h = await setup()
    const metadata = await (await fetch(`${US_ISSUER}/.well-known/oauth-authorization-server`)).json()
    metadata.scopes_supported = metadata.scopes_supported.filter((scope: string) => scope !== 'insight:write' && scope !== 'notebook:write')
    h.server.use(http.get(`${US_ISSUER}/.well-known/oauth-authorization-server`, () => HttpResponse.json(metadata)))
    const error = await login(h.deps, loginDefaults).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.scope, missing: ['insight:write']})
    expect((error as Error).message).toMatch(/does not advertise/)
    expect(h.opened).toEqual([])
    expect(h.logLines().find((line) => line.event === 'oauth.invalid_scope')).toMatchObject({source: 'preflight', missing_scopes: ['insight:write']})
  })

  it('preflight: an optional scope missing from scopes_supported is dropped with a warning', async () => {
    const h = await setup()
    const metadata = await (await fetch(`${US_ISSUER}/.well-known/oauth-authorization-server`)).json()
    metadata.scopes_supported = metadata.scopes_supported.filter((scope: string) => scope !== 'notebook:write')
    h.server.use(http.get(`${US_ISSUER}/.well-known/oauth-authorization-server`, () => HttpResponse.json(metadata)))
    const result = await login(h.deps, loginDefaults)
    expect(result.session.scopes).not.toContain('notebook:write')
    expect(new URL(h.opened[0]!).searchParams.get('scope')).not.toContain('notebook:write')
    expect(h.stderr.text()).toMatch(/does not offer these optional scopes.*notebook:write/)
  })

  it('preflight: skipped when scopes_supported is absent', async () => {
    const h = await setup()
    const metadata = await (await fetch(`${US_ISSUER}/.well-known/oauth-authorization-server`)).json()
    delete metadata.scopes_supported
    h.server.use(http.get(`${US_ISSUER}/.well-known/oauth-authorization-server`, () => HttpResponse.json(metadata)))
    await expect(login(h.deps, loginDefaults)).resolves.toMatchObject({session: {client_id: WIZARD_CLIENT_ID}})
    expect(h.logLines().find((line) => line.event === 'preflight.skipped')).toBeDefined()
  })

  it('a forged callback with a wrong state gets an error page; the login keeps waiting and then succeeds', async () => {
    const h = await setup()
    let forgedStatus = 0
    h.browser.action = async (url) => {
      const redirectUri = new URL(url).searchParams.get('redirect_uri')!
      const forged = await fetch(`${redirectUri}?code=attacker&state=forged`)
      forgedStatus = forged.status
      await follow(url)
    }
    const result = await login(h.deps, loginDefaults)
    expect(forgedStatus).toBe(400)
    expect(result.session.user).toMatchObject({email: 'dev@example.com'})
    expect(h.logLines().some((line) => line.event === 'oauth.callback_rejected' && line.reason === 'state_mismatch')).toBe(true)
  })

  it('a callback with the wrong iss (RFC 9207) fails the login', async () => {
    const h = await setup()
    h.browser.action = async (url) => {
      const params = new URL(url).searchParams
      await fetch(`${params.get('redirect_uri')}?code=c&state=${params.get('state')}&iss=${encodeURIComponent('https://evil.example')}`)
    }
    await expect(login(h.deps, loginDefaults)).rejects.toMatchObject({code: 'issuer_mismatch', exit: ExitCode.unexpected})
    expect(await (await h.deps.sessions()).list()).toEqual([])
  })

  it('accepts the right iss when the server sends one', async () => {
    const h = await setup({issParameter: true})
    await expect(login(h.deps, loginDefaults)).resolves.toMatchObject({session: {client_id: WIZARD_CLIENT_ID}})
  })

  it('Deny on the consent page is access_denied (exit 3)', async () => {
    const h = await setup()
    h.browser.action = (url) => follow(url, 'deny')
    await expect(login(h.deps, loginDefaults)).rejects.toMatchObject({code: 'access_denied', exit: ExitCode.notLoggedIn})
  })

  it('times out when no callback arrives (exit 3), and frees the port', async () => {
    const h = await setup()
    h.browser.action = () => {}
    const port = await freeLoopbackPort()
    await expect(login(h.deps, {...loginDefaults, port, timeoutSeconds: 1})).rejects.toMatchObject({code: 'login_timeout', exit: ExitCode.notLoggedIn})
    // The listener bound 127.0.0.1 (and ::1 where there is IPv6) on that port: both can be bound again.
    await bindAndRelease(port, '127.0.0.1')
    await bindAndRelease(port, '::1').catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRNOTAVAIL' && error.code !== 'EAFNOSUPPORT') throw error
    })
  })

  it('says so when the callback port is in use', async () => {
    const h = await setup()
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as {port: number}).port
    try {
      const error = await login(h.deps, {...loginDefaults, port}).catch((caught: unknown) => caught)
      expect(error).toMatchObject({code: 'port_in_use'})
      expect((error as Error).message).toContain(String(port))
      expect(h.opened).toEqual([])
    } finally {
      blocker.close()
    }
  })

  it('refuses http:// for a non-loopback host (exit 2) without any request', async () => {
    const h = await setup()
    const requests: string[] = []
    h.server.events.on('request:start', ({request}) => requests.push(request.url)) // every fetch, bypassed or handled
    await expect(login(h.deps, {...loginDefaults, host: 'http://posthog.example.com'})).rejects.toMatchObject({exit: ExitCode.usage})
    expect(requests).toEqual([])
    expect(h.opened).toEqual([])
  })

  it('--no-browser: takes the pasted final redirect URL from stdin', async () => {
    const h = await setup()
    const pending = login(h.deps, {...loginDefaults, browser: false})
    // The user opens the printed URL elsewhere and pastes where they landed.
    const url = await waitForValue('the authorization URL on stderr', () => /https:\/\/us\.posthog\.com\/oauth\/authorize\S+/.exec(h.stderr.text())?.[0])
    const landed = await landingUrl(url)
    h.stdin.write('not a url\n')
    h.stdin.write(`${landed}\n`)
    const result = await pending
    expect(result.session.user).toMatchObject({email: 'dev@example.com'})
    expect(h.opened).toEqual([])
    expect(h.stderr.text()).toMatch(/That URL was not accepted/)
  })

  it('no browser can open (headless, non-interactive): says so at once with the reason, and the loopback still completes the login', async () => {
    const h = await setup()
    h.browser.unavailable = 'there is no display (DISPLAY and WAYLAND_DISPLAY are unset)'
    const pending = login(h.deps, loginDefaults)
    const url = await waitForValue('the authorization URL on stderr', () => /https:\/\/us\.posthog\.com\/oauth\/authorize\S+/.exec(h.stderr.text())?.[0])
    expect(h.stderr.text()).toMatch(/Warning: No browser could be opened: there is no display/)
    expect(h.stderr.text()).toMatch(/--no-browser/)
    // Someone opens the printed URL on this machine: the redirect reaches the loopback.
    await follow(url)
    await expect(pending).resolves.toMatchObject({session: {user: {email: 'dev@example.com'}}})
    expect(h.opened).toEqual([])
  })

  it('no browser can open on a terminal (SSH): a pasted redirect URL completes the login while the loopback keeps listening', async () => {
    const h = await setup()
    h.terminal.interactive = true
    h.browser.unavailable = 'this is an SSH session'
    const pending = login(h.deps, loginDefaults)
    const url = await waitForValue('the authorization URL on stderr', () => /https:\/\/us\.posthog\.com\/oauth\/authorize\S+/.exec(h.stderr.text())?.[0])
    expect(h.stderr.text()).toMatch(/No browser could be opened: this is an SSH session\. Open the URL above on any machine, then paste/)
    const landed = await landingUrl(url)
    h.stdin.write(`${landed}\n`)
    await expect(pending).resolves.toMatchObject({session: {user: {email: 'dev@example.com'}}})
    expect(h.opened).toEqual([])
  })

  it('--scopes replaces the requested set and treats all as required', async () => {
    const h = await setup({policy: 'clamp'})
    const result = await login(h.deps, {...loginDefaults, scopes: 'user:read project:read'})
    expect(result.session.scopes!.sort()).toEqual(['project:read', 'user:read'])
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: ['user:read']})
    await expect(login(h.deps, {...loginDefaults, scopes: 'user:read project:read'})).rejects.toMatchObject({exit: ExitCode.scope, missing: ['project:read']})
  })

  it('maps an unreachable server to exit 6', async () => {
    const h = await setup()
    h.server.use(http.get('https://down.example.com/*', () => HttpResponse.error()))
    await expect(login(h.deps, {...loginDefaults, host: 'https://down.example.com'})).rejects.toMatchObject({exit: ExitCode.network})
  })

  it('maps a token endpoint that stays unavailable to exit 6', async () => {
    const h = await setup()
    h.mock.control.configure({fail_next: {path: '/oauth/token/', status: 503, count: 5, retry_after: 1}})
    await expect(login(h.deps, loginDefaults)).rejects.toMatchObject({exit: ExitCode.network})
  })

  it('an invalid_scope from the token endpoint is exit 4 with the event, nothing stored', async () => {
    const h = await setup()
    h.server.use(
      http.post(`${US_ISSUER}/oauth/token/`, () =>
        HttpResponse.json({error: 'invalid_scope', error_description: 'Requested scopes exceed the allowed scopes: dashboard:write'}, {status: 400}),
      ),
    )
    const error = await login(h.deps, loginDefaults).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.scope, missing: ['dashboard:write']})
    expect(h.logLines().find((line) => line.event === 'oauth.invalid_scope')).toMatchObject({source: 'token', missing_scopes: ['dashboard:write']})
    expect(await (await h.deps.sessions()).list()).toEqual([])
  })

  it('ONRAMP_STORAGE=keychain without a keychain fails (exit 7) before the browser opens', async () => {
    const h = await setup()
    const deps = await h.newDeps()
    const withKeychain = {...deps, sessions: () => import('../../src/session/open-store.js').then(({openSessionStore}) => openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths: deps.paths, warn: deps.ui.warn, backend: noKeychain()}))}
    await expect(login(withKeychain, loginDefaults)).rejects.toMatchObject({exit: ExitCode.storageUnavailable})
    expect(h.opened).toEqual([])
  })

  it('never writes a token to stderr, the result (human or --json), or the log (with --verbose)', async () => {
    const h = await setup({verbose: true})
    const result = await login(h.deps, loginDefaults)
    const session = (await storedSessions(h.deps))[0]!
    const log = JSON.stringify(h.logLines())
    expect(session.access_token).toMatch(/^pha_/)
    for (const secret of [session.access_token, session.refresh_token!]) {
      expect(h.stderr.text()).not.toContain(secret)
      expect(renderLogin(result)).not.toContain(secret)
      expect(JSON.stringify(result)).not.toContain(secret)
      expect(log).not.toContain(secret)
    }
    expect(h.stderr.text()).toMatch(/login\.success/)
  })
})

describe('login on a custom host', () => {
  it('registers a client through DCR when none is given, remembers it, and reuses it', async () => {
    const h = await setup({issuer: 'https://auth.example.com'})
    // DCR apps only get unprivileged scopes, so ask for what such an app can have.
    const options = {...loginDefaults, host: 'https://auth.example.com', scopes: 'user:read project:read'}
    const first = await login(h.deps, options)
    expect(first.session.client_id).not.toBe(WIZARD_CLIENT_ID)
    expect(h.mock.control.snapshot().apps.some((app) => app.client_id === first.session.client_id)).toBe(true)
    const second = await login(h.deps, {...options, port: undefined})
    expect(second.session.client_id).toBe(first.session.client_id)
    expect(h.mock.control.snapshot().counters.requests['POST /oauth/register/'] ?? h.mock.control.snapshot().counters.requests['POST /oauth/register']).toBe(1)
  })

  it('needs --client-id when the server has no registration endpoint (exit 2)', async () => {
    const h = await setup({issuer: 'https://auth.example.com'})
    const metadata = await (await fetch('https://auth.example.com/.well-known/oauth-authorization-server')).json()
    delete metadata.registration_endpoint
    h.server.use(http.get('https://auth.example.com/.well-known/oauth-authorization-server', () => HttpResponse.json(metadata)))
    const error = await login(h.deps, {...loginDefaults, host: 'https://auth.example.com'}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.usage, code: 'client_id_required'})
    expect((error as Error).message).toMatch(/--client-id/)
  })

  it("a self-registered client's ceiling (what its registration granted) stops login before the browser, naming --client-id; scopes --check says the same", async () => {
    const h = await setup({issuer: 'https://auth.example.com'})
    const error = await login(h.deps, {...loginDefaults, host: 'https://auth.example.com'}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.scope})
    expect((error as Error).message).toMatch(/keeps outside this app's ceiling[\s\S]*llm_gateway:read[\s\S]*registered itself at https:\/\/auth\.example\.com as client \S+ \(RFC 7591[\s\S]*Pass --client-id/)
    expect(h.opened).toEqual([]) // no browser, no consent to come back refused
    expect(h.mock.control.snapshot().counters.grants.authorization_code ?? 0).toBe(0)
    expect(WIZARD_CEILING).toContain('llm_gateway:read')
    // The remembered client's ceiling is checked before the loopback even opens, and by scopes --check.
    const again = await login(h.deps, {...loginDefaults, host: 'https://auth.example.com'}).catch((caught: unknown) => caught)
    expect(again).toMatchObject({exit: ExitCode.scope, message: expect.stringMatching(/Pass --client-id/)})
    const report = await checkScopes(h.deps, {host: 'https://auth.example.com'})
    expect(report).toMatchObject({ok: false, ceiling_source: 'registration', client_id: expect.any(String)})
    expect(report.surfaces.login.outside_ceiling).toContain('llm_gateway:read')
    expect(renderScopeCheck(report)).toMatch(/self-registered[\s\S]*pass --client-id/)
  })
})
