/**
 * Signup for an email that already has an account, with the consent given in a real headless Chromium:
 * the signup flow runs in-process as on a terminal (interactive), against the served mock; the "browser"
 * it opens is Chromium, which loads the consent URL, clicks Authorize (the page calls pending/ and
 * confirm/), and lands on http://localhost:8239/callback, where the flow is listening.
 */
import {PassThrough} from 'node:stream'

import {expect, it} from 'vitest'

import type {Browser} from '../../src/browser.js'
import {createDeps} from '../../src/deps.js'
import {signup} from '../../src/flows/signup.js'
import {createLogger} from '../../src/log.js'
import {createTerminalUi, type Ui} from '../../src/ui.js'
import {browserUnavailable, launchChromium} from '../support/chromium.js'
import {capture} from '../support/harness.js'
import {servedMockForFile, WIZARD_CLIENT_ID} from '../support/mock-process.js'
import {describeUnless} from '../support/skip.js'
import {holdWizardPortsForFile} from '../support/wizard-ports.js'

const unavailable = browserUnavailable()

describeUnless(unavailable)('signup for an existing account, consent in Chromium', () => {
  // The consent comes back on localhost:8239 (the app's first redirect URI), which is what this tests.
  holdWizardPortsForFile([8239])
  const served = servedMockForFile({browser: false})

  it('Authorize in the page completes the signup with a stored session', async () => {
    const {mock, home} = served
    await mock.control('users', {email: 'owner@example.com'})
    const {browser: chromium, close} = await launchChromium()
    const visits: Promise<void>[] = []
    const browser: Browser = {
      unavailableReason: () => undefined,
      open: async (url) => {
        visits.push(
          (async () => {
            const page = await chromium.newPage()
            await page.goto(url)
            await page.getByRole('button', {name: 'Authorize'}).click()
            await page.waitForURL(/localhost:8239\/callback/)
          })(),
        )
        return {opened: true}
      },
    }
    try {
      const stderr = capture()
      const stdin = new PassThrough()
      const paths = (await createDeps({version: 'test', env: home.env, stderr})).paths
      const logger = createLogger({file: `${paths.state}/onramp.log`, verbose: false, stderr})
      const ui: Ui = {...createTerminalUi({stdin, stderr, logger, env: home.env}), interactive: true}
      const deps = await createDeps({version: 'test', env: home.env, stderr, stdin, ui, browser})
      const {result, newAccount} = await signup(deps, {host: mock.issuer, clientId: WIZARD_CLIENT_ID, email: 'owner@example.com', store: true, timeoutSeconds: 30})
      await Promise.all(visits)
      expect(newAccount).toBe(false)
      expect(result.session).toMatchObject({kind: 'provisioning', user: {email: 'owner@example.com'}, missing_required_scopes: []})
      expect(result.project.api_key).toMatch(/^phc_/)
      const {counters} = await mock.control<{counters: {requests: Record<string, number>; provisioning: {accounts_created: number}}}>('state')
      expect(counters.requests['POST /api/agentic/authorize/confirm/']).toBe(1)
      expect(counters.provisioning.accounts_created).toBe(0)
      expect(stderr.text()).toContain('/api/agentic/authorize?')
    } finally {
      await close()
    }
  }, 90_000)
})
