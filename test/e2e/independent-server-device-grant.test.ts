// The device grant (RFC 8628) from the built binary against oidc-provider with its device flow enabled,
// approved and denied in a real Chromium on the provider's own pages, as a person on another device would.
import type {Page} from 'playwright-core'
import {afterAll, afterEach, beforeAll, beforeEach, expect, it} from 'vitest'

import {browserUnavailable, launchChromium} from '../support/chromium.js'
import {isolatedHome, runCli, type CliResult} from '../support/cli.js'
import {INDEPENDENT_CLIENT_ID, startIndependentServer, type IndependentServer} from '../support/independent-server.js'
import {describeUnless} from '../support/skip.js'

const unavailable = browserUnavailable()

describeUnless(unavailable)('login --device against oidc-provider (device flow enabled)', () => {
  let server: IndependentServer
  let home: ReturnType<typeof isolatedHome>
  let chromium: Awaited<ReturnType<typeof launchChromium>>
  beforeAll(async () => {
    server = await startIndependentServer({deviceFlow: true})
    chromium = await launchChromium()
  })
  afterAll(async () => {
    await chromium?.close()
    await server?.close()
  })
  beforeEach(() => {
    home = isolatedHome()
  })
  afterEach(() => home.cleanup())
  const env = () => ({...home.env, ONRAMP_HOST: server.issuer, ONRAMP_CLIENT_ID: INDEPENDENT_CLIENT_ID})

  /** Runs login; once the verification URL is printed, `person` acts on it in Chromium. */
  async function loginWith(args: string[], person: (page: Page) => Promise<void>): Promise<CliResult> {
    let stderr = ''
    let printed: ((url: string) => void) | undefined
    const urlPrinted = new Promise<string>((resolve) => (printed = resolve))
    const cli = runCli(['login', ...args], {
      env: env(),
      timeoutMs: 60_000,
      onStderr: (chunk) => {
        stderr += chunk
        const match = /(http:\/\/127\.0\.0\.1:\d+\/device\?user_code=\S+)/.exec(stderr)
        if (match) printed?.(match[1]!)
      },
    })
    const page = await chromium.browser.newPage()
    try {
      await page.goto(await Promise.race([urlPrinted, cli.then((result) => Promise.reject(new Error(`login ended first: ${result.stderr}`)))]))
      await person(page)
    } finally {
      void page.close().catch(() => {})
    }
    return cli
  }

  const approve = async (page: Page) => {
    await page.click('button[autofocus]') // "Continue" on the user-code confirmation page
    await page.fill('input[name="login"]', 'grace')
    await page.fill('input[name="password"]', 'any')
    await page.click('button[type="submit"]')
    await page.waitForSelector('button[type="submit"]')
    await page.click('button[type="submit"]') // consent
    await page.waitForLoadState()
  }

  it('approved in the browser: exit 0, the same login document and session as the redirect login', async () => {
    const result = await loginWith(['--device', '--scopes', 'openid email user:read', '--json'], approve)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/Your one-time code:\s+\S+/)
    expect(JSON.parse(result.stdout)).toMatchObject({
      session: {issuer: server.issuer, client_id: INDEPENDENT_CLIENT_ID, kind: 'oauth', user: {email: 'grace@independent.example', id: 'grace'}, missing_required_scopes: []},
      missing_optional_scopes: [],
    })
    const status = JSON.parse((await runCli(['status', '--json'], {env: env()})).stdout)
    expect(status.sessions[0]).toMatchObject({issuer: server.issuer, missing_required_scopes: []})
  }, 90_000)

  it('with no browser here, plain login offers the device grant first', async () => {
    const result = await loginWith(['--scopes', 'openid email', '--json'], approve)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/No browser can open here .*one-time code/)
  }, 90_000)

  it('without --client-id, onramp registers itself (RFC 7591) for the device grant and logs in', async () => {
    const open = await startIndependentServer({deviceFlow: true, registration: true})
    try {
      let stderr = ''
      let printed: ((url: string) => void) | undefined
      const urlPrinted = new Promise<string>((resolve) => (printed = resolve))
      const cli = runCli(['login', '--device', '--scopes', 'openid email', '--json'], {
        env: {...home.env, ONRAMP_HOST: open.issuer},
        timeoutMs: 60_000,
        onStderr: (chunk) => {
          stderr += chunk
          const match = /(http:\/\/127\.0\.0\.1:\d+\/device\?user_code=\S+)/.exec(stderr)
          if (match) printed?.(match[1]!)
        },
      })
      const page = await chromium.browser.newPage()
      await page.goto(await urlPrinted)
      await approve(page)
      const result = await cli
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
