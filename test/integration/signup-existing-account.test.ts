/**
 * `onramp signup` for an email that already has an account (`type:"requires_auth"`): interactively the
 * owner consents in the browser and the callback comes back on the app's first redirect URI
 * (localhost:8239); non-interactively exit 3 pointing at `onramp login`; and the retry after a lost
 * answer that finds the account the first attempt created.
 */
import {createServer, type Server} from 'node:net'

import {http as msw, HttpResponse} from 'msw'
import {describe, expect, it} from 'vitest'

import {follow, landingUrl} from '../../scripts/scripted-browser.mjs'
import {signup, type SignupOptions} from '../../src/flows/signup.js'
import {DEFAULT_USER_EMAIL} from '../mock-server/index.js'
import {harnessPerTest} from '../support/harness.js'
import {waitForValue} from '../support/wait-for.js'
import {holdWizardPortsForFile} from '../support/wizard-ports.js'

const {start: setup} = harnessPerTest()
// The consent comes back on the app's first redirect URI, localhost:8239, whatever the app: that port is what these tests test.
holdWizardPortsForFile([8239])

const options = (extra: Partial<SignupOptions> = {}): SignupOptions => ({email: DEFAULT_USER_EMAIL, store: true, timeoutSeconds: 15, ...extra})

describe('signup with an email that already has an account', () => {
  it('interactive: opens the consent URL, takes the callback on localhost:8239, stores the session', async () => {
    const h = await setup()
    h.terminal.interactive = true
    const {result, newAccount} = await signup(h.deps, options())
    expect(newAccount).toBe(false)
    expect(h.opened).toHaveLength(1)
    const consent = new URL(h.opened[0]!)
    expect(consent.pathname).toBe('/api/agentic/authorize')
    expect(consent.searchParams.get('state')).toBeTruthy()
    expect(h.stderr.text()).toContain(h.opened[0]!)
    expect(result.session).toMatchObject({kind: 'provisioning', missing_required_scopes: []})
    expect(result.project.api_key).toMatch(/^phc_/)
    const counters = h.mock.control.snapshot().counters.provisioning
    expect(counters.accounts_created).toBe(0)
    expect(counters.token_requests.authorization_code).toBe(1)
  })

  it('interactive: a callback with another state is refused and the wait goes on to the real one', async () => {
    const h = await setup()
    h.terminal.interactive = true
    h.browser.action = async (url) => {
      const forged = await fetch('http://localhost:8239/callback?code=forged&state=not-the-state')
      expect(forged.status).toBe(400)
      await follow(url, 'authorize')
    }
    const {result} = await signup(h.deps, options())
    expect(result.session?.kind).toBe('provisioning')
  })

  it('a consent URL on another origin than the issuer\'s is refused, saying why, and never opened', async () => {
    const h = await setup()
    h.terminal.interactive = true
    h.server.use(
      msw.post(`${h.mock.issuer}/api/agentic/provisioning/account_requests`, () =>
        HttpResponse.json({id: 'req-1', type: 'requires_auth', requires_auth: {url: 'https://phish.example/api/agentic/authorize?state=s123'}}),
      ),
    )
    const error = await signup(h.deps, options()).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 1, code: 'consent_url_refused'})
    expect((error as Error).message).toMatch(/consent URL on https:\/\/phish\.example, not on its own origin/)
    expect(h.opened).toEqual([])
    expect(h.stderr.text()).not.toContain('phish.example/api')
    expect(await (await h.deps.sessions()).list()).toEqual([])
  })

  it('interactive, no browser can open (SSH): the address the consent lands on may be pasted, as login takes it', async () => {
    const h = await setup()
    h.terminal.interactive = true
    h.browser.unavailable = 'this is an SSH session'
    const pending = signup(h.deps, options())
    const url = await waitForValue('the consent URL on stderr', () => /https:\/\/us\.posthog\.com\/api\/agentic\/authorize\S+/.exec(h.stderr.text())?.[0])
    expect(h.stderr.text()).toMatch(/No browser could be opened: this is an SSH session\. Open the URL above on any machine, then paste the address you are sent back to here \(it starts with http:\/\/localhost:8239\/callback\)/)
    // The owner approves on another machine and copies the address it lands on (never reaching this one).
    const landed = await landingUrl(url, 'authorize', 'http://localhost:8239/callback')
    h.stdin.write(`${landed}\n`)
    const {result, newAccount} = await pending
    expect(newAccount).toBe(false)
    expect(result.session).toMatchObject({kind: 'provisioning', account: DEFAULT_USER_EMAIL})
    expect(h.opened).toEqual([])
  })

  it('interactive: a denied consent is exit 3 and nothing is stored', async () => {
    const h = await setup()
    h.terminal.interactive = true
    h.browser.action = (url) => follow(url, 'deny')
    await expect(signup(h.deps, options())).rejects.toMatchObject({exit: 3, code: 'access_denied'})
    expect(await (await h.deps.sessions()).list()).toEqual([])
  })

  it('interactive: a busy port 8239 is a clear error before the browser opens', async () => {
    const h = await setup()
    h.terminal.interactive = true
    const blocker: Server = createServer()
    await new Promise<void>((resolve) => blocker.listen(8239, '127.0.0.1', resolve))
    try {
      await expect(signup(h.deps, options())).rejects.toThrow(/Port 8239 on localhost is in use/)
      expect(h.opened).toEqual([])
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })

  it('non-interactive: exit 3 with next_command "onramp login", no browser, nothing stored', async () => {
    const h = await setup()
    const error = await signup(h.deps, options()).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 3, code: 'account_exists', nextCommand: 'onramp login'})
    expect((error as Error).message).toContain(DEFAULT_USER_EMAIL)
    expect(h.opened).toEqual([])
    expect(await (await h.deps.sessions()).list()).toEqual([])
  })

  it('a retry after a lost answer that meets requires_auth says the first attempt probably created the account', async () => {
    const h = await setup()
    h.mock.control.configure({fail_next: {path: '/api/agentic/provisioning/account_requests', status: 500, after_handler: true}})
    const error = await signup(h.deps, options({email: 'lost@example.com'})).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 3, nextCommand: 'onramp login'})
    expect((error as Error).message).toMatch(/first signup attempt probably created it/)
    expect(h.stderr.text()).toMatch(/first account request probably created the account for lost@example\.com/)
    const counters = h.mock.control.snapshot().counters.provisioning
    expect(counters.account_requests).toBe(2)
    expect(counters.accounts_created).toBe(1)
  })

  it('the same retry, interactive, goes on to the consent and ends with the session', async () => {
    const h = await setup()
    h.terminal.interactive = true
    h.mock.control.configure({fail_next: {path: '/api/agentic/provisioning/account_requests', status: 500, after_handler: true}})
    const {result} = await signup(h.deps, options({email: 'lost@example.com'}))
    expect(result.session?.user?.email).toBe('lost@example.com')
    expect(h.mock.control.snapshot().counters.provisioning.accounts_created).toBe(1)
  })
})
