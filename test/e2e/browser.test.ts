import {describe, expect} from 'vitest'

import {browserUnavailable, launchChromium, loginInBrowser} from '../support/chromium.js'
import {runCli} from '../support/cli.js'
import {servedMockForFile} from '../support/mock-process.js'
import {itUnless} from '../support/skip.js'

// Decided once, at load: a missing Chromium skips with this reason, or fails under ONRAMP_REQUIRE_BROWSER_TESTS=1.
const unavailable = browserUnavailable()

describe('login in a real headless Chromium', () => {
  const served = servedMockForFile({unless: unavailable})

  itUnless(unavailable)('clicks Authorize on the consent page while the CLI waits', async () => {
    const {browser, close} = await launchChromium()
    try {
      // BROWSER=true opens nothing: the test plays the user, reading the URL the CLI prints.
      const printed = /(http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\/\?\S+)/
      const {result} = await loginInBrowser(browser, {args: ['--json', '--timeout', '60'], env: served.env({BROWSER: 'true'}), printed}, async (page) => {
        expect(await page.locator('#scopes').textContent()).toContain('dashboard:write')
        await page.getByRole('button', {name: 'Authorize'}).click()
        await page.waitForURL(/127\.0\.0\.1:\d+\/callback\?/)
        expect(await page.textContent('body')).toMatch(/You can close this tab/)
      })
      expect(result.code, result.stderr).toBe(0)
      expect(JSON.parse(result.stdout)).toMatchObject({session: {issuer: served.mock.issuer, user: {email: 'dev@example.com'}}})
      const status = await runCli(['status', '--json'], {env: {...served.home.env, ONRAMP_HOST: served.mock.issuer}})
      expect(JSON.parse(status.stdout).sessions).toHaveLength(1)
    } finally {
      await close()
    }
  }, 90_000)
})
