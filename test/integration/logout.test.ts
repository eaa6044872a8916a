import {describe, expect, it} from 'vitest'

import {ExitCode} from '../../src/errors.js'
import {logout} from '../../src/flows/logout.js'
import {token} from '../../src/flows/token.js'
import {harnessPerTest, US_ISSUER, WIZARD_CLIENT_ID, storedSessions} from '../support/harness.js'

const {start, loggedIn} = harnessPerTest()

describe('logout', () => {
  it('revokes the refresh token, then deletes the session', async () => {
    const h = await loggedIn()
    const [session] = await storedSessions(h.deps)
    const result = await logout(h.deps, {selection: {}, all: false})
    expect(result.logged_out).toEqual([{issuer: US_ISSUER, client_id: WIZARD_CLIENT_ID, account: 'dev@example.com', kind: 'oauth', revoked: true}])
    expect(h.mock.control.snapshot().counters.revocations).toBe(1)
    expect(await (await h.deps.sessions()).list()).toEqual([])
    // The revoked access token no longer works.
    const me = await fetch(`${US_ISSUER}/api/users/@me/`, {headers: {authorization: `Bearer ${session!.access_token}`}})
    expect(me.status).toBe(401)
    await expect(token(h.deps, {minValidSeconds: 60})).rejects.toMatchObject({exit: ExitCode.notLoggedIn})
  })

  it('deletes locally even when revocation fails', async () => {
    const h = await loggedIn()
    h.mock.control.configure({fail_next: {path: '/oauth/revoke/', status: 500, count: 5}})
    const result = await logout(h.deps, {selection: {}, all: true})
    expect(result.logged_out[0]).toMatchObject({revoked: false})
    expect(h.stderr.text()).toMatch(/deleted locally anyway/)
    expect(await (await h.deps.sessions()).list()).toEqual([])
  })

  it('nothing to log out is not an error (a CI cleanup may run twice): it says so', async () => {
    const harness = await start()
    await expect(logout(harness.deps, {selection: {}, all: false})).resolves.toEqual({logged_out: [], nothing_to_log_out: `Not logged in to ${US_ISSUER}; nothing to log out.`})
    expect(harness.stderr.text()).toMatch(/nothing to log out/)
    const h = await loggedIn()
    await logout(h.deps, {selection: {}, all: false})
    await expect(logout(h.deps, {selection: {}, all: true})).resolves.toMatchObject({logged_out: [], nothing_to_log_out: 'Not logged in to any host; nothing to log out.'})
  })
})
