/**
 * The agentic consent page in a real headless Chromium, against the served mock: with scripts on, the
 * page reads `…/authorize/pending/`, and Authorize posts `…/authorize/confirm/` then navigates to the
 * returned redirect_url, as PostHog's page does. The callback is a loopback server of this test.
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {afterAll, beforeAll, describe, expect} from 'vitest'

import {browserUnavailable, launchChromium} from '../support/chromium.js'
import {startMockProcess, type MockProcess} from '../support/mock-process.js'
import {pkce, US_CLIENT} from './helpers.js'
import {itUnless} from '../support/skip.js'

const unavailable = browserUnavailable()

interface Callback {
  url: string
  received: Promise<URLSearchParams>
  server: Server
}

async function startCallback(): Promise<Callback> {
  let resolve: (params: URLSearchParams) => void = () => {}
  const received = new Promise<URLSearchParams>((done) => (resolve = done))
  const server = createServer((request, response) => {
    resolve(new URL(request.url ?? '/', 'http://127.0.0.1').searchParams)
    response.end('done')
  })
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening))
  return {url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`, received, server}
}

describe('the agentic consent page in a real browser', () => {
  let mock: MockProcess
  let callback: Callback
  beforeAll(async () => {
    if (unavailable) return
    mock = await startMockProcess()
    callback = await startCallback()
  })
  afterAll(async () => {
    await mock?.stop()
    callback?.server.close()
  })

  itUnless(unavailable)('Authorize confirms through the API and lands on the first redirect URI', async () => {
    await mock.control('apps', {client_id: US_CLIENT, redirect_uris: [callback.url]})
    const {verifier, challenge} = pkce()
    const response = await fetch(`${mock.issuer}/api/agentic/provisioning/account_requests`, {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({client_id: US_CLIENT, email: 'dev@example.com', scopes: ['user:read', 'project:read'], code_challenge: challenge}),
    })
    const {requires_auth: requiresAuth} = (await response.json()) as {requires_auth: {url: string}}
    const state = new URL(requiresAuth.url).searchParams.get('state')
    const {browser, close} = await launchChromium()
    try {
      const page = await browser.newPage()
      await page.goto(requiresAuth.url)
      expect(await page.locator('#scopes').textContent()).toContain('project:read')
      await page.getByRole('button', {name: 'Authorize'}).click()
      const params = await callback.received
      expect(params.get('state')).toBe(state)
      const {counters} = await mock.control<{counters: {requests: Record<string, number>}}>('state')
      expect(counters.requests['GET /api/agentic/authorize/pending/']).toBe(1)
      expect(counters.requests['POST /api/agentic/authorize/confirm/']).toBe(1)
      expect(counters.requests['POST /agentic/authorize']).toBeUndefined()
      const token = await fetch(`${mock.issuer}/api/agentic/oauth/token`, {
        method: 'POST',
        headers: {'content-type': 'application/x-www-form-urlencoded'},
        body: new URLSearchParams({grant_type: 'authorization_code', code: params.get('code')!, code_verifier: verifier}).toString(),
      })
      expect(token.status).toBe(200)
    } finally {
      await close()
    }
  }, 60_000)
})
