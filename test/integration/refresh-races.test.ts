import {http} from 'msw'
import {afterEach, describe, expect, it} from 'vitest'

import {ExitCode, StorageUnavailableError} from '../../src/errors.js'
import {login} from '../../src/flows/login.js'
import {logout} from '../../src/flows/logout.js'
import {token} from '../../src/flows/token.js'
import {ensureFresh, type Refresher} from '../../src/flows/refresh.js'
import type {Session} from '../../src/session/session.js'
import type {SessionStore} from '../../src/session/store.js'
import {loginDefaults, startHarness, storedSessions, US_ISSUER, type Harness} from '../support/harness.js'

let harness: Harness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

async function loggedIn(): Promise<{h: Harness; store: SessionStore; session: Session}> {
  const h = (harness = await startHarness())
  await login(h.deps, loginDefaults)
  const store = await h.deps.sessions()
  const [session] = await storedSessions(h.deps)
  return {h, store, session: session!}
}

/** Runs `during` while the refresh request is in flight, then lets the mock answer it. */
function whileRefreshing(h: Harness, during: () => Promise<unknown>): void {
  h.server.use(
    http.post(`${US_ISSUER}/oauth/token/`, async ({request}) => {
      if ((await request.clone().formData()).get('grant_type') === 'refresh_token') await during()
      return undefined // fall through to the mock's token endpoint
    }, {once: true}),
  )
}

const refreshes = (h: Harness) => h.mock.control.snapshot().counters.grants.refresh_token

describe('a refresh never resurrects or overwrites', () => {
  it('racing logout: the refreshed session is discarded, the user stays logged out', async () => {
    const {h, store, session} = await loggedIn()
    h.mock.control.configure({fail_next: {path: '/oauth/revoke/', status: 500, count: 5}}) // logout deletes locally anyway
    h.advance(3600)
    whileRefreshing(h, () => logout(h.deps, {selection: {}, all: true}))
    const error = await ensureFresh(h.deps, {store, session}).catch((caught: unknown) => caught)
    expect(refreshes(h)).toBe(1)
    expect(error).toMatchObject({exit: ExitCode.notLoggedIn})
    expect(await store.list()).toEqual([])
    expect(h.credentialsText()).not.toContain(session.client_id)
  })

  it('racing a new login: the newer session wins and is what the refresh hands back', async () => {
    const {h, store, session} = await loggedIn()
    h.advance(3600)
    let newer: Session | undefined
    whileRefreshing(h, async () => {
      await login(h.deps, loginDefaults)
      newer = await store.get(session)
    })
    const fresh = await ensureFresh(h.deps, {store, session})
    expect(refreshes(h)).toBe(1)
    expect(newer!.refresh_token).not.toBe(session.refresh_token)
    expect(await store.get(session)).toEqual(newer)
    expect(fresh).toMatchObject({refreshed: false, session: newer})
  })
})

describe('a refresh that cannot be saved', () => {
  it('does not spend the refresh token when the store is not writable', async () => {
    const {h, store, session} = await loggedIn()
    h.advance(3600)
    const unwritable: SessionStore = {
      ...store,
      kind: store.kind,
      location: store.location,
      checkWritable: async () => {
        throw new StorageUnavailableError(`Sessions cannot be saved in ${store.location} (EROFS).`)
      },
    }
    await expect(ensureFresh(h.deps, {store: unwritable, session})).rejects.toMatchObject({exit: ExitCode.storageUnavailable})
    expect(refreshes(h)).toBe(0)
    await expect(store.get(session)).resolves.toEqual(session)
  })

  it('still hands out the fresh access token, saying why it was not kept', async () => {
    const {h, store, session} = await loggedIn()
    h.advance(3600)
    const full: SessionStore = {
      ...store,
      kind: store.kind,
      location: store.location,
      replace: async () => {
        throw Object.assign(new Error('ENOSPC: no space left on device'), {code: 'ENOSPC'})
      },
    }
    const fresh = await ensureFresh(h.deps, {store: full, session})
    expect(fresh.refreshed).toBe(true)
    expect(fresh.session.access_token).not.toBe(session.access_token)
    expect(fresh.notKept).toMatch(/ENOSPC/)
    expect(h.stderr.text()).toMatch(/Not kept: .*ENOSPC/)
    const me = await fetch(`${US_ISSUER}/api/users/@me/`, {headers: {authorization: `Bearer ${fresh.session.access_token}`}})
    expect(me.status).toBe(200)
  })
})

describe('refresh options', () => {
  it('minValidSeconds: refreshes a token that is valid, but not for that long', async () => {
    const {h} = await loggedIn()
    h.advance(3000) // 10 minutes left
    await token(h.deps, {minValidSeconds: 60})
    expect(refreshes(h)).toBe(0)
    const result = await token(h.deps, {minValidSeconds: 900})
    expect(refreshes(h)).toBe(1)
    expect(Date.parse(result.session.expires_at!) - h.deps.now().getTime()).toBeGreaterThan(900_000)
  })

  it('uses the refresher of the session kind (provisioning sessions refresh elsewhere)', async () => {
    const {h, store, session} = await loggedIn()
    h.advance(3600)
    const calls: string[] = []
    const provisioning: Refresher = async (_deps, current) => {
      calls.push(current.refresh_token!)
      return {access_token: `pha_${'P'.repeat(44)}`, refresh_token: `phr_${'P'.repeat(44)}`, expires_in: 3600}
    }
    const kinded: Session = {...session, kind: 'provisioning'}
    await store.save(kinded) // the store keeps the kind: that is what picks the refresher
    const fresh = await ensureFresh(h.deps, {store, session: kinded, refreshers: {provisioning}})
    expect(calls).toEqual([session.refresh_token])
    expect(refreshes(h)).toBe(0)
    expect(fresh.session.access_token).toBe(`pha_${'P'.repeat(44)}`)
    expect((await store.get(kinded))!.refresh_token).toBe(`phr_${'P'.repeat(44)}`)
    expect((await store.get(session))!.refresh_token).toBe(session.refresh_token) // the login session of the same account is its own
  })
})
