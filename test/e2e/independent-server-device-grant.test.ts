// The device grant (RFC 8628) from the built binary against oidc-provider with its device flow enabled,
// approved and denied in a real Chromium on the provider's own pages, as a person on another device would.
import type {Page} from 'playwright-core'
import {afterAll, beforeAll, expect, it} from 'vitest'

import {browserUnavailable, launchChromium, loginInBrowser} from '../support/chromium.js'
import {runCli, type CliResult} from '../support/cli.js'
import {INDEPENDENT_CLIENT_ID, INDEPENDENT_URL_PRINTED, independentServerForFile, signInAndConsent, startIndependentServer} from '../support/independent-server.js'
import {describeUnless} from '../support/skip.js'

const unavailable = browserUnavailable()

describeUnless(unavailable)('login --device against oidc-provider (device flow enabled)', () => {
  const independent = independentServerForFile({deviceFlow: true})
  const env = () => independent.env()
  let chromium: Awaited<ReturnType<typeof launchChromium>>
  beforeAll(async () => {
    chromium = await launchChromium()
  })
  afterAll(async () => {
    await chromium?.close()
  })

  /** Runs login; once the verification URL is printed, `person` acts on it in Chromium. */
  const loginWith = async (args: string[], person: (page: Page) => Promise<void>): Promise<CliResult> => (await loginInBrowser(chromium.browser, {args, env: env(), printed: INDEPENDENT_URL_PRINTED}, person)).result

  const approve = async (page: Page) => {
    await page.click('button[autofocus]') // "Continue" on the user-code confirmation page
    await signInAndConsent(page, 'grace')
    await page.waitForLoadState()
  }

  it('approved in the browser: exit 0, the same login document and session as the redirect login', async () => {
    const result = await loginWith(['--device', '--scopes', 'openid email user:read', '--json'], approve)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/Your one-time code:\s+\S+/)
    expect(JSON.parse(result.stdout)).toMatchObject({
      session: {issuer: independent.server.issuer, client_id: INDEPENDENT_CLIENT_ID, kind: 'oauth', user: {email: 'grace@independent.example', id: 'grace'}, missing_required_scopes: []},
      missing_optional_scopes: [],
    })
    const status = JSON.parse((await runCli(['status', '--json'], {env: env()})).stdout)
    expect(status.sessions[0]).toMatchObject({issuer: independent.server.issuer, missing_required_scopes: []})
  }, 90_000)

  it('with no browser here, plain login offers the device grant first', async () => {
    const result = await loginWith(['--scopes', 'openid email', '--json'], approve)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/No browser can open here .*one-time code/)
  }, 90_000)

  it('without --client-id, onramp registers itself (RFC 7591) for the device grant and logs in', async () => {
    const open = await startIndependentServer({deviceFlow: true, registration: true})
    try {
      const {result} = await loginInBrowser(
        chromium.browser,
        {args: ['--device', '--scopes', 'openid email', '--json'], env: {...independent.home.env, ONRAMP_HOST: open.issuer}, printed: INDEPENDENT_URL_PRINTED},
        approve,
      )
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr).toMatch(/Registered onramp as client \S+ at /)
      expect(JSON.parse(result.stdout)).toMatchObject({session: {issuer: open.issuer, user: {email: 'grace@independent.example'}}})
    } finally {
      await open.close()
    }
  }, 90_000)

  it('aborted on the confirmation page: exit 3 access_denied, nothing stored', async () => {
    const result = await loginWith(['--device', '--scopes', 'openid email', '--json'], async (page) => {
      await page.click('button[name="abort"]')
      await page.waitForLoadState()
    })
    expect(result.code, result.stderr).toBe(3)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'access_denied', exit: 3})
    expect((await runCli(['status', '--json'], {env: env()})).code).toBe(3)
  }, 90_000)
})
