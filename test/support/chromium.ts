import {existsSync} from 'node:fs'

import type {Browser, Page} from 'playwright-core'

import {runCli, type CliResult} from './cli.js'

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
      // Never the Secret Service the keychain tests share (Chromium keeps its cookie key there on a desktop).
      '--password-store=basic',
    ],
  })
  return {
    browser,
    close: () => browser.close(),
  }
}

/**
 * `onramp login ...args` in `env`, with a person at `browser`: once login prints a URL matching `printed`
 * (its first group: the consent or verification page), `person` acts on it in a new page. Returns that
 * URL and login's result; fails at once if login ends before printing it.
 */
export async function loginInBrowser(
  browser: Browser,
  {args, env, printed}: {args: string[]; env: Record<string, string>; printed: RegExp},
  person: (page: Page, url: URL) => Promise<void>,
): Promise<{url: URL; result: CliResult}> {
  let stderr = ''
  let found: ((url: string) => void) | undefined
  const urlPrinted = new Promise<string>((resolve) => (found = resolve))
  const cli = runCli(['login', ...args], {
    env,
    timeoutMs: 60_000,
    onStderr: (chunk) => {
      stderr += chunk
      const match = printed.exec(stderr)
      if (match) found?.(match[1]!)
    },
  })
  const url = new URL(await Promise.race([urlPrinted, cli.then((result) => Promise.reject(new Error(`login ended first: ${result.stderr}`)))]))
  const page = await browser.newPage()
  try {
    await page.goto(url.href)
    await person(page, url)
  } finally {
    void page.close().catch(() => {})
  }
  return {url, result: await cli}
}
