// The README's "Which session" rules: without --host/--region, `status` shows every stored session; `token`
// uses the only host logged in to, or the default region's (us) when there are several; `logout` logs out of
// the only host, and asks for --host/--region or --all when there are several.
import {afterEach, describe, expect, it} from 'vitest'

import {ExitCode} from '../../src/errors.js'
import {login} from '../../src/flows/login.js'
import {logout} from '../../src/flows/logout.js'
import {status} from '../../src/flows/status.js'
import {token} from '../../src/flows/token.js'
import type {Session} from '../../src/session/session.js'
import {loginDefaults, startHarness, US_ISSUER, WIZARD_CLIENT_ID, type Harness, storedSessions} from '../support/harness.js'

const EU_ISSUER = 'https://eu.posthog.com'
// A loopback host nothing listens on: revoking there fails at once, without leaving the machine.
const CLOSED_HOST = 'http://127.0.0.1:9'

let harness: Harness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

/** Logs in to the mock (us), then stores copies of that session for `others`, each with its own token. */
async function sessionsOn(others: {issuer: string; region: Session['region']}[], {keepUs = true} = {}) {
  const h = (harness = await startHarness())
  await login(h.deps, loginDefaults)
  const store = await h.deps.sessions()
  const [us] = await storedSessions(h.deps)
  for (const [index, other] of others.entries()) {
    await store.save({...us!, issuer: other.issuer, region: other.region, access_token: `pha_other${index}`, refresh_token: `phr_other${index}`})
  }
  if (!keepUs) await store.delete(us!)
  return {h, store, usToken: us!.access_token}
}

const issuersOf = (sessions: {issuer: string}[]) => sessions.map((session) => session.issuer).sort()

describe('status', () => {
  it('shows every stored session without --host/--region, only the selected host with one', async () => {
    const {h} = await sessionsOn([{issuer: EU_ISSUER, region: 'eu'}])
    expect(issuersOf((await status(h.deps, {})).sessions)).toEqual([EU_ISSUER, US_ISSUER])
    expect(issuersOf((await status(h.deps, {region: 'eu'})).sessions)).toEqual([EU_ISSUER])
  })
})

describe('token', () => {
  it('uses the only host logged in to, even when it is not the default region', async () => {
    const {h} = await sessionsOn([{issuer: EU_ISSUER, region: 'eu'}], {keepUs: false})
    const result = await token(h.deps, {minValidSeconds: 60})
    expect(result).toMatchObject({access_token: 'pha_other0', session: {issuer: EU_ISSUER}})
  })

  it("uses the default region's session (us) when several hosts are logged in to", async () => {
    const {h, usToken} = await sessionsOn([{issuer: EU_ISSUER, region: 'eu'}])
    expect(await token(h.deps, {minValidSeconds: 60})).toMatchObject({access_token: usToken, session: {issuer: US_ISSUER}})
    expect(await token(h.deps, {minValidSeconds: 60, region: 'eu'})).toMatchObject({access_token: 'pha_other0', session: {issuer: EU_ISSUER}})
  })

  it("exits 3 when several hosts are logged in to and none is the default region's", async () => {
    const {h} = await sessionsOn([{issuer: EU_ISSUER, region: 'eu'}, {issuer: CLOSED_HOST, region: null}], {keepUs: false})
    await expect(token(h.deps, {minValidSeconds: 60})).rejects.toMatchObject({exit: ExitCode.notLoggedIn, message: expect.stringContaining(US_ISSUER)})
  })
})

describe('logout', () => {
  it('logs out of the only host without --host/--region', async () => {
    const {h, store} = await sessionsOn([])
    expect((await logout(h.deps, {selection: {}, all: false})).logged_out).toEqual([{issuer: US_ISSUER, client_id: WIZARD_CLIENT_ID, account: 'dev@example.com', kind: 'oauth', revoked: true}])
    expect(await store.list()).toEqual([])
  })

  it('asks for --host/--region or --all when several hosts are logged in to, and deletes nothing', async () => {
    const {h, store} = await sessionsOn([{issuer: EU_ISSUER, region: 'eu'}])
    const refused = logout(h.deps, {selection: {}, all: false})
    await expect(refused).rejects.toMatchObject({exit: ExitCode.usage})
    await expect(refused).rejects.toThrow(/--host or --region.*--all/)
    expect(issuersOf(await store.list())).toEqual([EU_ISSUER, US_ISSUER])
    expect(h.mock.control.snapshot().counters.revocations).toBe(0)
  })

  it('logs out of the selected host only, keeping the others', async () => {
    const {h, store} = await sessionsOn([{issuer: EU_ISSUER, region: 'eu'}])
    expect((await logout(h.deps, {selection: {region: 'us'}, all: false})).logged_out).toEqual([{issuer: US_ISSUER, client_id: WIZARD_CLIENT_ID, account: 'dev@example.com', kind: 'oauth', revoked: true}])
    expect(issuersOf(await store.list())).toEqual([EU_ISSUER])
  })

  it('--all logs out of every host', async () => {
    const {h, store} = await sessionsOn([{issuer: CLOSED_HOST, region: null}])
    const result = await logout(h.deps, {selection: {}, all: true})
    expect(result.logged_out).toEqual(
      expect.arrayContaining([
        {issuer: US_ISSUER, client_id: WIZARD_CLIENT_ID, account: 'dev@example.com', kind: 'oauth', revoked: true},
        {issuer: CLOSED_HOST, client_id: WIZARD_CLIENT_ID, account: 'dev@example.com', kind: 'oauth', revoked: false}, // nothing listens there: deleted locally anyway
      ]),
    )
    expect(result.logged_out).toHaveLength(2)
    expect(await store.list()).toEqual([])
  })
})
