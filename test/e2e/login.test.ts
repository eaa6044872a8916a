import {readFileSync} from 'node:fs'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {landingUrl} from '../../scripts/scripted-browser.mjs'
import {runCli} from '../support/cli.js'
import {servedMockForFile, WIZARD_CLIENT_ID} from '../support/mock-process.js'
import {startConnectProxy} from '../support/proxy.js'

const served = servedMockForFile()
const onramp = served.run

interface MockState {
  counters: {grants: Record<string, number>; revocations: number}
}

describe('the built binary against `npm run mock-server` on a real port', () => {
  it('login, status, token, logout: the whole story, with revocation', async () => {
    const before = await served.mock.control<MockState>('state')
    const login = await onramp(['login', '--json'])
    expect(login.code, login.stderr).toBe(0)
    const loggedIn = JSON.parse(login.stdout)
    expect(loggedIn).toMatchObject({session: {issuer: served.mock.issuer, client_id: WIZARD_CLIENT_ID, user: {email: 'dev@example.com'}}})
    expect(login.stderr).toContain(`${served.mock.issuer}/oauth/authorize/?`) // the URL is always printed

    const status = await onramp(['status', '--json'])
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout).sessions[0]).toMatchObject({issuer: served.mock.issuer, host: new URL(served.mock.issuer).host, state: 'valid', missing_required_scopes: []})

    const token = await onramp(['token'])
    expect(token.code).toBe(0)
    expect(token.stdout).toMatch(/^pha_[A-Za-z0-9]{44}\n$/)
    const me = await fetch(`${served.mock.issuer}/api/users/@me/`, {headers: {authorization: `Bearer ${token.stdout.trim()}`}})
    expect(me.status).toBe(200)

    const tokenJson = JSON.parse((await onramp(['token', '--json'])).stdout)
    expect(tokenJson).toMatchObject({access_token: token.stdout.trim(), session: {issuer: served.mock.issuer, expires_at: expect.any(String), scopes: expect.arrayContaining(['user:read'])}})
    // The same session, in the same shape, as login and status show it.
    expect(tokenJson.session.storage).toEqual(loggedIn.session.storage)
    expect(JSON.parse(status.stdout).sessions[0].storage).toEqual(loggedIn.session.storage)

    const logout = await onramp(['logout', '--json'])
    expect(logout.code).toBe(0)
    expect(JSON.parse(logout.stdout)).toEqual({logged_out: [{issuer: served.mock.issuer, client_id: WIZARD_CLIENT_ID, account: 'dev@example.com', kind: 'oauth', revoked: true}]})
    const after = await served.mock.control<MockState>('state')
    expect(after.counters.revocations).toBe(before.counters.revocations + 1)
    expect((await fetch(`${served.mock.issuer}/api/users/@me/`, {headers: {authorization: `Bearer ${token.stdout.trim()}`}})).status).toBe(401)

    const gone = await onramp(['token'])
    expect(gone.code).toBe(3)
    expect(gone.stdout).toBe('')
    expect(gone.stderr).toMatch(/Not logged in.*\n.*onramp login/)
  }, 90_000)

  it("a required scope outside the app's ceiling: exit 4 before any browser opens, a JSON error naming the scope, nothing stored", async () => {
    await served.mock.control('apps', {client_id: WIZARD_CLIENT_ID, scopes: ['user:read', 'project:read', 'query:read', 'dashboard:write', 'event_definition:write', 'llm_gateway:read']})
    const login = await onramp(['login', '--json'])
    expect(login.code).toBe(4)
    const {error} = JSON.parse(login.stdout)
    expect(error).toMatchObject({code: 'invalid_scope', exit: 4})
    expect(error.message).toContain('insight:write (login, required)')
    expect(error.message).toMatch(/server's admins/)
    expect(login.stderr).not.toMatch(/oauth\/authorize/) // no URL: no browser step at all
    const events = await served.mock.control<{event: string; missing_scopes?: string[]}[]>('events')
    expect(events.filter((event) => event.event === 'oauth.authorize.invalid_scope')).toEqual([])
    const log = readFileSync(path.join(served.home.env.XDG_STATE_HOME!, 'onramp', 'onramp.log'), 'utf8')
    expect(log).toMatch(/"event":"oauth.invalid_scope"/)
    expect((await onramp(['status'])).code).toBe(3)
  })

  it('a forged callback is refused and the login still completes', async () => {
    const login = await onramp(['login'], {FOLLOW_FORGE_FIRST: '1'})
    expect(login.code, login.stderr).toBe(0)
    expect(readFileSync(served.followLog, 'utf8')).toMatch(/forged callback -> 400/)
    expect(login.stdout).toMatch(/Logged in to .* as dev@example.com/)
  })

  it('Deny in the browser: exit 3 and nothing stored', async () => {
    const login = await onramp(['login'], {FOLLOW_ACTION: 'deny'})
    expect(login.code).toBe(3)
    expect(login.stderr).toMatch(/denied/)
    expect((await onramp(['status'])).code).toBe(3)
  })

  it('never shows a token in --verbose output or the log', async () => {
    const login = await onramp(['login', '--verbose'])
    expect(login.code, login.stderr).toBe(0)
    const credentials = JSON.parse(readFileSync(path.join(served.home.env.XDG_CONFIG_HOME!, 'onramp', 'credentials.json'), 'utf8'))
    const session = Object.values(credentials.sessions)[0] as {access_token: string; refresh_token: string}
    const log = readFileSync(path.join(served.home.env.XDG_STATE_HOME!, 'onramp', 'onramp.log'), 'utf8')
    for (const secret of [session.access_token, session.refresh_token]) {
      expect(login.stderr).not.toContain(secret)
      expect(login.stdout).not.toContain(secret)
      expect(log).not.toContain(secret)
    }
    expect(login.stderr).toMatch(/http\.response/) // verbose really echoed the log
  })

  it('refuses plain http to a non-loopback host with exit 2', async () => {
    const login = await onramp(['login'], {ONRAMP_HOST: 'http://posthog.example.com'})
    expect(login.code).toBe(2)
    expect(login.stderr).toMatch(/Refusing plain http/)
  })

  it('scopes --check passes against the mock, and fails (exit 4) after the ceiling is narrowed', async () => {
    const ok = await onramp(['scopes', '--check', '--json'])
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({issuer: served.mock.issuer, ok: true})
    await served.mock.control('apps', {client_id: WIZARD_CLIENT_ID, scopes: ['user:read', 'project:read']})
    const failed = await onramp(['scopes', '--check'])
    expect(failed.code).toBe(4)
    expect(failed.stdout).toMatch(/login +dashboard:write +yes +OUTSIDE the app's ceiling \(required\)/)
    const failedJson = await onramp(['scopes', '--check', '--json'])
    expect(failedJson.code).toBe(4)
    expect(JSON.parse(failedJson.stdout)).toMatchObject({ok: false, surfaces: {login: {ok: false}, signup: {ok: false}}})
  })

  it('goes through HTTP_PROXY when it is set, and around it for NO_PROXY hosts', async () => {
    const proxy = await startConnectProxy()
    try {
      const proxied = await onramp(['scopes', '--check', '--json'], {HTTP_PROXY: proxy.url})
      expect(proxied.code, proxied.stderr).toBe(0)
      expect(proxy.tunnels).toContain(new URL(served.mock.issuer).host)
      proxy.tunnels.length = 0
      const bypassed = await onramp(['scopes', '--check', '--json'], {HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1'})
      expect(bypassed.code, bypassed.stderr).toBe(0)
      expect(proxy.tunnels).toEqual([])
    } finally {
      await proxy.close()
    }
  })

  it('--no-browser with nothing to paste into (stdin at its end, as </dev/null): exit 3 at once, saying how to paste', async () => {
    const result = await runCli(['login', '--no-browser', '--timeout', '300', '--json'], {env: {...served.home.env, ONRAMP_HOST: served.mock.issuer, ONRAMP_CLIENT_ID: WIZARD_CLIENT_ID}, timeoutMs: 20_000})
    expect(result.code, result.stderr).toBe(3)
    const {error} = JSON.parse(result.stdout) as {error: {code: string; message: string; next_command: string}}
    expect(error).toMatchObject({code: 'paste_needs_terminal', next_command: 'onramp login --no-browser'})
    expect(error.message).toMatch(/no terminal to paste it into.*Run onramp login --no-browser in a terminal/)
  })

  it('--no-browser: prints the URL and takes the pasted final redirect URL from stdin', async () => {
    let stdin: NodeJS.WritableStream | undefined
    let pasted = false
    let stderr = ''
    const login = runCli(['login', '--no-browser', '--timeout', '30'], {
      env: {...served.home.env, ONRAMP_HOST: served.mock.issuer, ONRAMP_CLIENT_ID: WIZARD_CLIENT_ID},
      onStdin: (stream) => (stdin = stream),
      onStderr: (chunk) => {
        stderr += chunk
        const url = /(http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\/\?\S+)/.exec(stderr)?.[1]
        if (url && !pasted) {
          pasted = true
          // The person approves in a browser elsewhere and copies the address it lands on.
          void landingUrl(url).then((landed) => stdin!.write(`${landed}\n`))
        }
      },
    })
    const result = await login
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/paste the address you are sent back to/)
    expect(result.stdout).toMatch(/Logged in to .* as dev@example.com/)
  })
})

