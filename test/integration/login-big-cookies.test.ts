/**
 * Issue 19 item 2 through the login flow: the browser reaches the callback with more localhost cookies
 * than any limit allows; it gets a page saying what to do, the terminal says the same, and the login
 * completes once the callback comes back without them (PostHog/wizard PR #1253).
 */
import {request} from 'node:http'

import {describe, expect, it} from 'vitest'

import {follow} from '../../scripts/scripted-browser.mjs'
import {login} from '../../src/flows/login.js'
import {harnessPerTest, loginDefaults} from '../support/harness.js'

const {start: setup} = harnessPerTest()

/** A GET of `url` carrying `bytes` of cookies, as a browser with a crowded localhost cookie jar sends it. */
function getWithCookies(url: string, bytes: number): Promise<{status: number; body: string}> {
  const cookie = Array.from({length: Math.ceil(bytes / 4000)}, (_, i) => `app${i}=${'c'.repeat(3990)}`).join('; ')
  return new Promise((resolve, reject) => {
    const outgoing = request(url, {headers: {cookie}}, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk.toString()))
      response.on('end', () => resolve({status: response.statusCode ?? 0, body}))
    })
    outgoing.on('error', reject)
    outgoing.end()
  })
}

describe('login with oversized localhost cookies', () => {
  it('past the header limit the page and the terminal say to clear localhost cookies or use a private window', async () => {
    const h = await setup()
    const pages: {status: number; body: string}[] = []
    h.browser.action = async (url) => {
      const redirectUri = new URL(url).searchParams.get('redirect_uri')!
      pages.push(await getWithCookies(`${redirectUri}?state=whatever&code=x`, 1200 * 1024))
      await follow(url, 'authorize')
    }
    const result = await login(h.deps, loginDefaults)
    expect(result.session.storage).toBeTruthy()
    expect(pages[0]?.status).toBe(431)
    expect(pages[0]?.body).toMatch(/cookies for localhost.*private window/s)
    expect(h.stderr.text()).toMatch(/Clear the cookies for localhost in this browser \(or open the address in a private window\)/)
  })
})
