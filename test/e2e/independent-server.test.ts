import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {browserUnavailable, launchChromium, loginInBrowser} from '../support/chromium.js'
import {runCli} from '../support/cli.js'
import {expireStoredSessions, storeFilePath} from '../support/credentials-file.js'
import {approveRedirect, INDEPENDENT_CLIENT_ID, INDEPENDENT_URL_PRINTED, independentServerForFile} from '../support/independent-server.js'
import {itUnless} from '../support/skip.js'

// The real-browser half needs Chromium: skipped with this reason, or failed under ONRAMP_REQUIRE_BROWSER_TESTS=1.
const unavailable = browserUnavailable()

describe('against an independent authorization server (oidc-provider), not the project mock', () => {
  const independent = independentServerForFile()
  // BROWSER=true: onramp "opens" the URL with `true`; the test's Chromium is the person.
  const env = () => independent.env({BROWSER: 'true'})

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
      const {result: login} = await loginInBrowser(
        browser,
        {args: ['--scopes', 'openid offline_access email user:read', '--json', '--timeout', '60'], env: env(), printed: INDEPENDENT_URL_PRINTED},
        approveRedirect,
      )
      expect(login.code, login.stderr).toBe(0)
      expect(JSON.parse(login.stdout)).toMatchObject({session: {issuer: independent.server.issuer, client_id: INDEPENDENT_CLIENT_ID, user: {email: 'ada@independent.example', id: 'ada'}}})

      const status = JSON.parse((await runCli(['status', '--json'], {env: env()})).stdout)
      expect(status.sessions[0]).toMatchObject({issuer: independent.server.issuer, user: {email: 'ada@independent.example'}})
      expect(status.sessions[0].scopes).toEqual(expect.arrayContaining(['openid', 'user:read']))

      const first = await runCli(['token'], {env: env()})
      expect(first.code, first.stderr).toBe(0)
      expect(first.stdout.trim().length).toBeGreaterThan(20)

      // Age the stored session so the next `token` must refresh (RFC 6749 section 6) at this server.
      const [before] = expireStoredSessions(independent.home.env)
      const refreshed = await runCli(['token', '--json'], {env: env()})
      expect(refreshed.code, refreshed.stdout + refreshed.stderr).toBe(0)
      expect(JSON.parse(refreshed.stdout).access_token).not.toBe(first.stdout.trim())
      const [after] = Object.values(JSON.parse(readFileSync(storeFilePath(independent.home.env), 'utf8')).sessions) as Array<{expires_at: string; refresh_token: string}>
      expect(Date.parse(after!.expires_at)).toBeGreaterThan(Date.now())
      expect(after!.refresh_token).not.toBe(before!.refresh_token) // oidc-provider rotates public clients' refresh tokens

      const logout = await runCli(['logout', '--json'], {env: env()})
      expect(logout.code, logout.stderr).toBe(0)
      expect(JSON.parse(logout.stdout).logged_out[0]).toMatchObject({revoked: true})
      expect((await runCli(['token'], {env: env()})).code).toBe(3)
    } finally {
      await close()
    }
  }, 90_000)
})
