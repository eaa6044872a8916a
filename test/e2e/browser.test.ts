import {afterAll, beforeAll, describe, expect} from 'vitest'

import {browserUnavailable, launchChromium} from '../support/chromium.js'
import {isolatedHome, runCli} from '../support/cli.js'
import {startMockProcess, type MockProcess} from '../support/mock-process.js'
import {itUnless} from '../support/skip.js'

const WIZARD_CLIENT_ID = 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM'
// Decided once, at load: a missing Chromium skips with this reason, or fails under ONRAMP_REQUIRE_BROWSER_TESTS=1.
const unavailable = browserUnavailable()

describe('login in a real headless Chromium', () => {
  let mock: MockProcess
  beforeAll(async () => {
    if (!unavailable) mock = await startMockProcess()
  })
  afterAll(async () => {
    await mock?.stop()
  })

  itUnless(unavailable)('clicks Authorize on the consent page while the CLI waits', async () => {
    const home = isolatedHome()
    const {browser, close} = await launchChromium()
    try {
      let authorizeUrl: ((url: string) => void) | undefined
      const urlPrinted = new Promise<string>((resolve) => (authorizeUrl = resolve))
      let stderr = ''
      const cli = runCli(['login', '--json', '--timeout', '60'], {
        // BROWSER=true opens nothing: the test plays the user, reading the URL the CLI prints.
        env: {...home.env, ONRAMP_HOST: mock.issuer, ONRAMP_CLIENT_ID: WIZARD_CLIENT_ID, BROWSER: 'true'},
        timeoutMs: 60_000,
        onStderr: (chunk) => {
          stderr += chunk
          const match = /(http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\/\?\S+)/.exec(stderr)
          if (match) authorizeUrl?.(match[1]!)
        },
      })
      const page = await browser.newPage()
      await page.goto(await urlPrinted)
      expect(await page.locator('#scopes').textContent()).toContain('dashboard:write')
      await page.getByRole('button', {name: 'Authorize'}).click()
      await page.waitForURL(/127\.0\.0\.1:\d+\/callback\?/)
      expect(await page.textContent('body')).toMatch(/You can close this tab/)

      const result = await cli
      expect(result.code, result.stderr).toBe(0)
      expect(JSON.parse(result.stdout)).toMatchObject({session: {issuer: mock.issuer, user: {email: 'dev@example.com'}}})
      const status = await runCli(['status', '--json'], {env: {...home.env, ONRAMP_HOST: mock.issuer}})
      expect(JSON.parse(status.stdout).sessions).toHaveLength(1)
    } finally {
      await close()
      home.cleanup()
    }
  }, 90_000)
})
