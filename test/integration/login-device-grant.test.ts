import {http, HttpResponse} from 'msw'
import {describe, expect, it} from 'vitest'

import {ExitCode} from '../../src/errors.js'
import {login} from '../../src/flows/login.js'
import {LOGIN_SCOPES} from '../../src/scopes/constant.js'
import type {DeviceCodeView} from '../mock-server/index.js'
import {type Harness, harnessPerTest, loginDefaults, storedSessions, US_ISSUER, WIZARD_CLIENT_ID} from '../support/harness.js'

const {start} = harnessPerTest()

/** The mock with the device grant on, polled every second so the tests stay short. */
const setup = (device: {interval?: number; expires_in?: number} = {}) => start({deviceGrant: {interval: 1, ...device}})
const deviceLogin = {...loginDefaults, device: true}

/** Resolves with the first pending code the CLI asked for. */
async function pendingCode(h: Harness): Promise<DeviceCodeView> {
  for (;;) {
    const code = h.mock.control.device.codes().find((candidate) => candidate.status === 'pending')
    if (code) return code
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('onramp login --device against the mock (RFC 8628)', () => {
  it('shows the user code and the complete verification URL, opens it, and stores the session once approved there', async () => {
    const h = await setup()
    const result = await login(h.deps, deviceLogin)
    const [code] = h.mock.control.device.codes()
    expect(code).toMatchObject({status: 'used', client_id: WIZARD_CLIENT_ID, user_email: 'dev@example.com'})
    // Shown prominently on its own line, and the complete URL both printed and opened.
    expect(h.stderr.text()).toContain(`Your one-time code:  ${code!.user_code}`)
    expect(h.stderr.text()).toContain(code!.verification_uri_complete)
    expect(h.stderr.text()).toContain(`${US_ISSUER}/device`)
    expect(h.opened).toEqual([code!.verification_uri_complete])
    expect(result).toMatchObject({
      session: {issuer: US_ISSUER, region: 'us', client_id: WIZARD_CLIENT_ID, kind: 'oauth', source: 'store', user: {email: 'dev@example.com'}, missing_required_scopes: []},
      missing_optional_scopes: [],
    })
    expect([...result.session.scopes!].sort()).toEqual([...LOGIN_SCOPES].sort())
    const stored = await storedSessions(h.deps)
    expect(stored).toHaveLength(1)
    expect(stored[0]!.access_token).toMatch(/^pha_/)
    // No loopback redirect was involved; the mock's pace check never fired.
    expect(h.mock.control.snapshot().counters.grants.authorization_code).toBe(0)
    expect(code!.answers).not.toContain('slow_down')
    expect(h.logLines().find((line) => line.event === 'login.success')).toMatchObject({grant: 'device_code'})
  })

  it('where no browser can open and the server offers it, the device grant comes first', async () => {
    const h = await setup()
    h.browser.unavailable = 'there is no display (DISPLAY and WAYLAND_DISPLAY are unset)'
    const done = login(h.deps, loginDefaults)
    const code = await pendingCode(h)
    h.mock.control.device.approve({user_code: code.user_code})
    await expect(done).resolves.toMatchObject({session: {user: {email: 'dev@example.com'}}})
    expect(h.stderr.text()).toMatch(/No browser can open here \(there is no display.*one-time code/)
    expect(h.stderr.text()).toContain(code.verification_uri_complete)
    expect(h.opened).toEqual([])
  })

  it('without the grant in the metadata, no browser keeps the pasted redirect (and --device is a usage error, exit 2)', async () => {
    const h = await start()
    const error = await login(h.deps, deviceLogin).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.usage, code: 'device_grant_unsupported'})
    expect((error as Error).message).toMatch(/does not offer the device grant.*--no-browser/)

    h.browser.unavailable = 'no display'
    const result = await login(h.deps, {...loginDefaults, timeoutSeconds: 1}).catch((caught: unknown) => caught)
    expect(result).toMatchObject({code: 'login_timeout'})
    expect(h.stderr.text()).toMatch(/No browser could be opened: no display/)
  })

  it('without a client id, a server that will not register onramp for the device grant: exit 2 naming --client-id', async () => {
    const issuer = 'https://auth.device.example'
    const h = await start({issuer, deviceGrant: {interval: 1}})
    const error = await login(h.deps, {...deviceLogin, host: issuer, scopes: 'user:read'}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.usage, code: 'client_id_required'})
    expect((error as Error).message).toMatch(/would not register onramp for the device grant .*--client-id/)
  })

  it('a server that will not start the grant for this client falls back to the redirect when it was only offered', async () => {
    const h = await setup()
    h.server.use(http.post(`${US_ISSUER}/oauth/device_authorization/`, () => HttpResponse.json({error: 'unauthorized_client', error_description: 'not for you'}, {status: 400})))
    h.browser.unavailable = 'no display'
    h.terminal.interactive = true
    const done = login(h.deps, {...loginDefaults, timeoutSeconds: 2}).catch((caught: unknown) => caught)
    await expect(done).resolves.toMatchObject({code: 'login_timeout'})
    expect(h.stderr.text()).toMatch(/The device grant did not start .*unauthorized_client.*paste the address/)
    expect(h.stderr.text()).toMatch(/Open this URL in your browser/)
  })

  it('denied on the verification page: exit 3 access_denied, nothing stored', async () => {
    const h = await setup()
    h.browser.action = () => {}
    const done = login(h.deps, deviceLogin).catch((caught: unknown) => caught)
    h.mock.control.device.deny({user_code: (await pendingCode(h)).user_code})
    const error = await done
    expect(error).toMatchObject({exit: ExitCode.notLoggedIn, code: 'access_denied', nextCommand: 'onramp login --device'})
    expect((error as Error).message).toMatch(/denied on the verification page/)
    expect(await storedSessions(h.deps)).toEqual([])
  })

  it('a code the server expires: exit 3 expired_token, "run it again"', async () => {
    const h = await setup()
    h.browser.action = () => {}
    const done = login(h.deps, deviceLogin).catch((caught: unknown) => caught)
    h.mock.control.device.expire({user_code: (await pendingCode(h)).user_code})
    const error = await done
    expect(error).toMatchObject({exit: ExitCode.notLoggedIn, code: 'expired_token'})
    expect((error as Error).message).toMatch(/Run onramp login --device again/)
  })

  it('stops at the deadline expires_in sets, without the server saying so', async () => {
    const h = await setup({expires_in: 2})
    h.browser.action = () => {}
    // The mock's clock is held back: only the CLI's own deadline can end this.
    h.mock.control.device.settings({expires_in: 2})
    h.server.use(
      http.post(`${US_ISSUER}/oauth/token/`, async ({request}) => {
        const body = new URLSearchParams(await request.clone().text())
        if (body.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:device_code') return undefined
        return HttpResponse.json({error: 'authorization_pending'}, {status: 400})
      }),
    )
    let polls = 0
    h.server.events.on('request:start', ({request}) => {
      if (request.method === 'POST' && request.url === `${US_ISSUER}/oauth/token/`) polls++
    })
    const error = await login(h.deps, deviceLogin).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.notLoggedIn, code: 'expired_token'})
    // Polled every 1 s until the 2 s deadline, never past it (a late timer on a busy machine means fewer polls, never more).
    expect(polls).toBeGreaterThan(0)
    expect(polls).toBeLessThanOrEqual(2)
  })

  it('--timeout bounds the wait like the browser wait: exit 3 login_timeout when it runs out before the code expires, nothing stored', async () => {
    // The code lives 10 minutes; only a 2 s --timeout can end this wait.
    const h = await setup({expires_in: 600})
    h.browser.action = () => {}
    let polls = 0
    h.server.events.on('request:start', ({request}) => {
      if (request.method === 'POST' && request.url === `${US_ISSUER}/oauth/token/`) polls++
    })
    const error = await login(h.deps, {...deviceLogin, timeoutSeconds: 2}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.notLoggedIn, code: 'login_timeout', nextCommand: 'onramp login --device'})
    expect((error as Error).message).toMatch(/No approval arrived within 2 s \(--timeout\); nothing was stored/)
    expect(h.stderr.text()).toMatch(/Waiting up to 2 s for the approval \(--timeout; the code expires in 10 minutes/)
    // Polled every 1 s until the 2 s deadline, never past it (a late timer means fewer polls, never more).
    expect(polls).toBeGreaterThan(0)
    expect(polls).toBeLessThanOrEqual(2)
    expect(h.mock.control.device.codes()[0]).toMatchObject({status: 'pending'})
    expect(await storedSessions(h.deps)).toEqual([])
  })

  it('slow_down adds 5 s to the interval for every later poll (RFC 8628 section 3.5)', async () => {
    const h = await setup()
    h.browser.action = () => {}
    // About 14 s of polling: a --timeout well past it, so only the approval ends the wait.
    const done = login(h.deps, {...deviceLogin, timeoutSeconds: 120})
    const {user_code} = await pendingCode(h)
    h.mock.control.device.slowDown({user_code})
    // Wait for the slow_down answer, then for one more poll, and approve.
    for (;;) {
      const code = h.mock.control.device.codes()[0]!
      if (code.answers.includes('slow_down') && code.answers.length >= code.answers.indexOf('slow_down') + 2) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    h.mock.control.device.approve({user_code})
    await done
    const code = h.mock.control.device.codes()[0]!
    const slowAt = code.answers.indexOf('slow_down')
    const gaps = code.poll_times.slice(1).map((time, index) => time - code.poll_times[index]!)
    // After the slow_down: at least 6 s, every time (a busy machine only makes gaps longer). That the
    // interval before it is the server's own is unit/oauth/device.test.ts's, on a scripted clock.
    expect(slowAt).toBeGreaterThanOrEqual(0)
    for (const gap of gaps.slice(slowAt)) expect(gap).toBeGreaterThanOrEqual(6000 - 50)
    expect(code.answers.at(-1)).toBe('tokens')
  }, 30_000)

  it('Ctrl-C (the signal) stops the polling at once: exit 130, nothing stored', async () => {
    // An interval of 10 minutes: a login that waited for the next poll instead of stopping at once would
    // outlast the test's timeout by far, so finishing at all proves the wait ended on the abort.
    const h = await setup({interval: 600, expires_in: 1200})
    h.browser.action = () => {}
    const stop = new AbortController()
    const done = login(h.deps, {...deviceLogin, signal: stop.signal}).catch((caught: unknown) => caught)
    const {user_code} = await pendingCode(h)
    const {InterruptedError} = await import('../../src/errors.js')
    stop.abort(new InterruptedError('Login stopped (Ctrl-C); nothing was stored.'))
    const error = await done
    expect(h.mock.control.device.codes().find((code) => code.user_code === user_code)).toMatchObject({status: 'pending', polls: 0})
    expect(error).toMatchObject({exit: ExitCode.interrupted, code: 'interrupted'})
    expect(await storedSessions(h.deps)).toEqual([])
  })

  it("the same preflight: a required scope outside the app's ceiling stops before any code is asked for (exit 4)", async () => {
    const h = await setup()
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: ['user:read', 'project:read']})
    const error = await login(h.deps, deviceLogin).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.scope, code: 'invalid_scope'})
    expect(h.mock.control.device.codes()).toEqual([])
    expect(h.opened).toEqual([])
  })

  it('the same grant check: a grant without a required scope is refused (exit 4), revoked and not stored', async () => {
    const h = await setup()
    h.mock.control.configure({mint_scopes_drop: ['dashboard:write']})
    const error = await login(h.deps, deviceLogin).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.scope, missing: ['dashboard:write']})
    expect(h.mock.control.snapshot().counters.revocations).toBe(1)
    expect(await storedSessions(h.deps)).toEqual([])
  })

  it('server text is made terminal-safe: a user code with escape sequences is shown stripped', async () => {
    const h = await setup()
    h.browser.action = () => {}
    h.server.use(
      http.post(`${US_ISSUER}/oauth/device_authorization/`, () =>
        HttpResponse.json({device_code: 'dc', user_code: 'ABCD\u001b[2J-EFGH', verification_uri: `${US_ISSUER}/device`, expires_in: 5, interval: 1}),
      ),
      http.post(`${US_ISSUER}/oauth/token/`, () => HttpResponse.json({error: 'access_denied', error_description: 'no\u001b[31m way'}, {status: 400})),
    )
    const error = await login(h.deps, deviceLogin).catch((caught: unknown) => caught)
    expect(error).toMatchObject({code: 'access_denied'})
    expect(h.stderr.text()).not.toContain('\u001b')
    expect((error as Error).message).not.toContain('\u001b')
  })
})
