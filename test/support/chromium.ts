import {existsSync} from 'node:fs'

import type {Browser} from 'playwright-core'

export const CHROMIUM_PATH = process.env.ONRAMP_CHROMIUM ?? '/usr/bin/chromium'

/**
 * Why a real-browser test cannot run here, or undefined when it can. With
 * ONRAMP_REQUIRE_BROWSER_TESTS=1 (set by .ci/run) a missing browser is a failure, not a skip.
 */
export function browserUnavailable(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined
  const reason = `Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium, or set ONRAMP_CHROMIUM)`
  if (process.env.ONRAMP_REQUIRE_BROWSER_TESTS === '1') throw new Error(`${reason}; ONRAMP_REQUIRE_BROWSER_TESTS=1 forbids skipping`)
  return reason
}

/** Debian's Chromium, headless, with a fresh profile (playwright's own temp one) and no background traffic. */
export async function launchChromium(): Promise<{browser: Browser; close: () => Promise<void>}> {
  const {chromium} = await import('playwright-core')
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  return {
    browser,
    close: () => browser.close(),
  }
}
