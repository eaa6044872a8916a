import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {browserUnavailable, launchChromium} from '../support/chromium.js'
import {isolatedHome, runCli} from '../support/cli.js'
import {INDEPENDENT_CLIENT_ID, startIndependentServer} from '../support/independent-server.js'
import {itUnless} from '../support/skip.js'

// The real-browser half needs Chromium: skipped with this reason, or failed under ONRAMP_REQUIRE_BROWSER_TESTS=1.
const unavailable = browserUnavailable()

describe('against an independent authorization server (oidc-provider), not the project mock', () => {
  let server: Awaited<ReturnType<typeof startIndependentServer>>
  let home: ReturnType<typeof isolatedHome>
  beforeAll(async () => {
    server = await startIndependentServer()
    home = isolatedHome()
  })
  afterAll(async () => {
    await server?.close()
    home?.cleanup()
  })
  const env = () => ({...home.env, ONRAMP_HOST: server.issuer, ONRAMP_CLIENT_ID: INDEPENDENT_CLIENT_ID, BROWSER: 'true'})

  it('stops before the browser when a required scope is not advertised (exit 4)', async () => {
    const result = await runCli(['login', '--scopes', 'openid dashboard:write', '--json'], {env: env()})
    expect(result.code).toBe(4)
    const {error} = JSON.parse(result.stdout)
    expect(error).toMatchObject({code: 'invalid_scope', exit: 4})
    expect(error.message).toContain('dashboard:write (login, required)')
    expect(result.stderr).not.toMatch(/Open this URL/)
  })

  itUnless(unavailable)('login, status, token refresh and logout with revocation', async () => {
    const {browser, close} = await launchChromium()
    try {
      let printed: ((url: string) => void) | undefined
      const urlPrinted = new Promise<string>((resolve) => (printed = resolve))
      let stderr = ''
      const cli = runCli(['login', '--scopes', 'openid offline_access email user:read', '--json', '--timeout', '60'], {
        env: env(),
        timeoutMs: 60_000,
        onStderr: (chunk) => {
          stderr += chunk
          const match = /(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)/.exec(stderr)
          if (match) printed?.(match[1]!)
        },
      })
      const page = await browser.newPage()
      await page.goto(await urlPrinted)
      // oidc-provider's development pages: sign in as anyone, then consent.
      await page.fill('input[name="login"]', 'ada')
      await page.fill('input[name="password"]', 'any')
      await page.click('button[type="submit"]')
      await page.waitForSelector('button[type="submit"]')
      await page.click('button[type="submit"]')
      await page.waitForURL(/127\.0\.0\.1:\d+\/callback\?/)

      const login = await cli
      expect(login.code, login.stderr).toBe(0)
      expect(JSON.parse(login.stdout)).toMatchObject({session: {issuer: server.issuer, client_id: INDEPENDENT_CLIENT_ID, user: {email: 'ada@independent.example', id: 'ada'}}})

      const status = JSON.parse((await runCli(['status', '--json'], {env: env()})).stdout)
      expect(status.sessions[0]).toMatchObject({issuer: server.issuer, user: {email: 'ada@independent.example'}})
      expect(status.sessions[0].scopes).toEqual(expect.arrayContaining(['openid', 'user:read']))

      const first = await runCli(['token'], {env: env()})
      expect(first.code, first.stderr).toBe(0)
      expect(first.stdout.trim().length).toBeGreaterThan(20)

      // Age the stored session so the next `token` must refresh (RFC 6749 section 6) at this server.
      const file = path.join(home.env.XDG_CONFIG_HOME!, 'onramp', 'credentials.json')
      const credentials = JSON.parse(readFileSync(file, 'utf8'))
      const key = Object.keys(credentials.sessions)[0]!
      const before = credentials.sessions[key]
      credentials.sessions[key].expires_at = new Date(Date.now() - 1000).toISOString()
      writeFileSync(file, JSON.stringify(credentials))
      const refreshed = await runCli(['token', '--json'], {env: env()})
      expect(refreshed.code, refreshed.stdout + refreshed.stderr).toBe(0)
      expect(JSON.parse(refreshed.stdout).access_token).not.toBe(first.stdout.trim())
      const after = JSON.parse(readFileSync(file, 'utf8')).sessions[key]
      expect(Date.parse(after.expires_at)).toBeGreaterThan(Date.now())
      expect(after.refresh_token).not.toBe(before.refresh_token) // oidc-provider rotates public clients' refresh tokens

      const logout = await runCli(['logout', '--json'], {env: env()})
      expect(logout.code, logout.stderr).toBe(0)
      expect(JSON.parse(logout.stdout).logged_out[0]).toMatchObject({revoked: true})
      expect((await runCli(['token'], {env: env()})).code).toBe(3)
    } finally {
      await close()
    }
  }, 90_000)
})
