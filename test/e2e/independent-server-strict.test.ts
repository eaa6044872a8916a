// A second interop target, stricter than PostHog (like the OAuth server in C that issue 22 was tried
// against): oidc-provider behind a proxy that requires a nonce with openid (400 'nonce required'), accepts only the registered loopback port
// (403, empty body, for any other), refuses revocation without client authentication (401, empty body)
// and, when told, refreshes with a bare 400. Driven from the built binary, with Chromium for the login.
import {beforeAll, describe, expect, it} from 'vitest'

import {browserUnavailable, launchChromium, loginInBrowser} from '../support/chromium.js'
import {runCli} from '../support/cli.js'
import {expireStoredSessions} from '../support/credentials-file.js'
import {freeLoopbackPort} from '../support/free-port.js'
import {approveRedirect, INDEPENDENT_URL_PRINTED, independentServerForFile} from '../support/independent-server.js'
import {itUnless} from '../support/skip.js'

const unavailable = browserUnavailable()

describe('against a stricter standards server (nonce required, registered ports only, terse refusals)', () => {
  let port: number
  beforeAll(async () => {
    port = await freeLoopbackPort()
  })
  const independent = independentServerForFile(() => ({strict: {ports: [port]}}))
  const env = () => independent.env()

  it('an unregistered port: refused before any login page, warned while waiting, explained at the timeout with --port', async () => {
    const result = await runCli(['login', '--scopes', 'openid email', '--timeout', '3', '--json'], {env: env()})
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/Warning: The server refused the authorization request before any login page \(HTTP 403, no explanation\)/)
    const {error} = JSON.parse(result.stdout)
    expect(error).toMatchObject({code: 'login_timeout', exit: 3})
    expect(error.message).toMatch(/does not accept the redirect to http:\/\/127\.0\.0\.1:\d+\/callback \(port \d+\)/)
    expect(error.message).toMatch(/onramp login --port N with a port registered for onramp-independent/)
    expect(independent.server.refused).toContain('403 GET /auth')
  })

  itUnless(unavailable)(
    'with --port and the nonce: login works; status judges the --scopes it asked for; a bare-400 refresh is exit 5; a refused revocation is named',
    async () => {
      const {browser, close} = await launchChromium()
      try {
        const {result: login} = await loginInBrowser(browser, {args: ['--port', String(port), '--scopes', 'openid offline_access email', '--json', '--timeout', '60'], env: env(), printed: INDEPENDENT_URL_PRINTED}, async (page, url) => {
          expect(url.searchParams.get('nonce')).toMatch(/^[\w-]{40,}$/)
          await approveRedirect(page)
        })
        expect(login.code, login.stderr).toBe(0)
        expect(JSON.parse(login.stdout)).toMatchObject({session: {user: {email: 'ada@independent.example'}, missing_required_scopes: []}})
        expect(login.stderr).not.toMatch(/refused the authorization request/)
        expect(independent.server.refused).not.toContain('400 GET /auth (nonce)')

        // Judged against what this login asked for: nothing is missing, and no PostHog scope is named.
        const status = await runCli(['status'], {env: env()})
        expect(status.code, status.stderr).toBe(0)
        expect(status.stdout).not.toMatch(/MISSING/)
        expect(JSON.parse((await runCli(['status', '--json'], {env: env()})).stdout).sessions[0].missing_required_scopes).toEqual([])

        // A refresh refused with a bare 400: an expired session (exit 5, with the next step), never exit 1.
        independent.server.refuseRefresh(true)
        expireStoredSessions(independent.home.env)
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
