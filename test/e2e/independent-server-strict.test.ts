// A second interop target, stricter than PostHog (like the OAuth server in C that issue 22 was tried
// against): oidc-provider behind a proxy that requires a nonce with openid (400 'nonce required'), accepts only the registered loopback port
// (403, empty body, for any other), refuses revocation without client authentication (401, empty body)
// and, when told, refreshes with a bare 400. Driven from the built binary, with Chromium for the login.
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {browserUnavailable, launchChromium} from '../support/chromium.js'
import {isolatedHome, runCli} from '../support/cli.js'
import {freeLoopbackPort, INDEPENDENT_CLIENT_ID, startIndependentServer, type IndependentServer} from '../support/independent-server.js'
import {itUnless} from '../support/skip.js'

const unavailable = browserUnavailable()

describe('against a stricter standards server (nonce required, registered ports only, terse refusals)', () => {
  let server: IndependentServer
  let home: ReturnType<typeof isolatedHome>
  let port: number
  beforeAll(async () => {
    port = await freeLoopbackPort()
    server = await startIndependentServer({strict: {ports: [port]}})
    home = isolatedHome()
  })
  afterAll(async () => {
    await server?.close()
    home?.cleanup()
  })
  const env = () => ({...home.env, ONRAMP_HOST: server.issuer, ONRAMP_CLIENT_ID: INDEPENDENT_CLIENT_ID})

  it('an unregistered port: refused before any login page, warned while waiting, explained at the timeout with --port', async () => {
    const result = await runCli(['login', '--scopes', 'openid email', '--timeout', '3', '--json'], {env: env()})
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/Warning: The server refused the authorization request before any login page \(HTTP 403, no explanation\)/)
    const {error} = JSON.parse(result.stdout)
    expect(error).toMatchObject({code: 'login_timeout', exit: 3})
    expect(error.message).toMatch(/does not accept the redirect to http:\/\/127\.0\.0\.1:\d+\/callback \(port \d+\)/)
    expect(error.message).toMatch(/onramp login --port N with a port registered for onramp-independent/)
    expect(server.refused).toContain('403 GET /auth')
  })

  itUnless(unavailable)(
    'with --port and the nonce: login works; status judges the --scopes it asked for; a bare-400 refresh is exit 5; a refused revocation is named',
    async () => {
      const {browser, close} = await launchChromium()
      try {
        let printed: ((url: string) => void) | undefined
        const urlPrinted = new Promise<string>((resolve) => (printed = resolve))
        let stderr = ''
        const cli = runCli(['login', '--port', String(port), '--scopes', 'openid offline_access email', '--json', '--timeout', '60'], {
          env: env(),
          timeoutMs: 60_000,
          onStderr: (chunk) => {
            stderr += chunk
            const match = /(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)/.exec(stderr)
            if (match) printed?.(match[1]!)
          },
        })
        const url = new URL(await urlPrinted)
        expect(url.searchParams.get('nonce')).toMatch(/^[\w-]{40,}$/)
        const page = await browser.newPage()
        await page.goto(url.href)
        await page.fill('input[name="login"]', 'ada')
        await page.fill('input[name="password"]', 'any')
        await page.click('button[type="submit"]')
        await page.waitForSelector('button[type="submit"]')
        await page.click('button[type="submit"]')
        await page.waitForURL(/127\.0\.0\.1:\d+\/callback\?/)
        const login = await cli
        expect(login.code, login.stderr).toBe(0)
        expect(JSON.parse(login.stdout)).toMatchObject({session: {user: {email: 'ada@independent.example'}, missing_required_scopes: []}})
        expect(login.stderr).not.toMatch(/refused the authorization request/)
        expect(server.refused).not.toContain('400 GET /auth (nonce)')

        // Judged against what this login asked for: nothing is missing, and no PostHog scope is named.
        const status = await runCli(['status'], {env: env()})
        expect(status.code, status.stderr).toBe(0)
        expect(status.stdout).not.toMatch(/MISSING/)
        expect(JSON.parse((await runCli(['status', '--json'], {env: env()})).stdout).sessions[0].missing_required_scopes).toEqual([])

        // A refresh refused with a bare 400: an expired session (exit 5, with the next step), never exit 1.
        server.refuseRefresh(true)
        const file = path.join(home.env.XDG_CONFIG_HOME!, 'onramp', 'credentials.json')
        const credentials = JSON.parse(readFileSync(file, 'utf8'))
        for (const key of Object.keys(credentials.sessions)) credentials.sessions[key].expires_at = new Date(Date.now() - 1000).toISOString()
        writeFileSync(file, JSON.stringify(credentials))
        const refresh = await runCli(['token', '--json'], {env: env()})
        expect(refresh.code, refresh.stdout).toBe(5)
        expect(JSON.parse(refresh.stdout).error).toMatchObject({exit: 5, next_command: expect.stringMatching(/^onramp login/)})
        expect(JSON.parse(refresh.stdout).error.message).toMatch(/HTTP 400/)

        // A revocation refused (401, empty body): named by status and cause; the session is deleted anyway.
        const logout = await runCli(['logout', '--json'], {env: env()})
        expect(logout.code, logout.stderr).toBe(0)
        expect(JSON.parse(logout.stdout).logged_out[0]).toMatchObject({revoked: false})
        expect(logout.stderr).toMatch(/refused to revoke the token \(HTTP 401, no error in the answer\): it wants the client to authenticate/)
        expect(logout.stderr).not.toMatch(/content-type/)
      } finally {
        await close()
      }
    },
    90_000,
  )
})
