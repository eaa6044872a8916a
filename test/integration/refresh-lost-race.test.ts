/**
 * Issue 16 item 3: a process that loses a refresh race looks at what the winner stored instead of
 * exiting 5. The winner here is a second process whose refresh lands while ours is in flight (as when
 * the lock went stale under it): it spends the refresh token and saves the new pair, so the server
 * refuses ours with `invalid_grant`. The same on the file store and the keychain store, for login
 * sessions and for provisioning sessions (single-use refresh tokens, no grace period).
 */
import {http, HttpResponse} from 'msw'
import {afterEach, describe, expect, it} from 'vitest'

import type {Deps} from '../../src/deps.js'
import {ExitCode, OnrampError} from '../../src/errors.js'
import {login} from '../../src/flows/login.js'
import {ensureFresh, oauthRefresher, provisioningRefresher} from '../../src/flows/refresh.js'
import {signup} from '../../src/flows/signup.js'
import {refreshedSession} from '../../src/session/freshness.js'
import {openSessionStore} from '../../src/session/open-store.js'
import type {Session} from '../../src/session/session.js'
import type {SessionStore} from '../../src/session/store.js'
import {PROVISIONING_TOKEN_PATH} from '../../src/provisioning/token.js'
import {fakeBackend} from '../support/keyring.js'
import {loginDefaults, startHarness, storedSessions, US_ISSUER, type Harness} from '../support/harness.js'

let harness: Harness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

type StoreKind = 'file' | 'keychain'
type Path = 'login' | 'signup'

interface Setup {
  h: Harness
  deps: Deps
  store: SessionStore
  session: Session
}

/** A harness whose deps use the file store or a keychain store (over an in-memory keychain), with one session in it. */
async function withSession(kind: StoreKind, path: Path): Promise<Setup> {
  const h = (harness = await startHarness())
  const store =
    kind === 'file'
      ? await h.deps.sessions()
      : await openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths: h.deps.paths, warn: h.deps.ui.warn, backend: fakeBackend()})
  const deps: Deps = {...h.deps, sessions: async () => store}
  if (path === 'login') await login(deps, loginDefaults)
  else await signup(deps, {email: 'racer@example.com', store: true, timeoutSeconds: 10})
  const [session] = await storedSessions(deps)
  expect(session!.kind).toBe(path === 'login' ? 'oauth' : 'provisioning')
  expect((await store.list())[0]!.storage.kind).toBe(kind)
  return {h, deps, store, session: session!}
}

const tokenPath = (path: Path) => (path === 'login' ? '/oauth/token/' : PROVISIONING_TOKEN_PATH)

/**
 * While our refresh request is in flight: `during` runs first (the winner), then the request goes on,
 * to the mock or, with `refuse`, to an `invalid_grant` (a server whose rotation has no grace period).
 */
function whileRefreshing(h: Harness, path: Path, during: () => Promise<unknown>, {refuse}: {refuse: boolean}): void {
  h.server.use(
    http.post(`${US_ISSUER}${tokenPath(path)}`, async ({request}) => {
      const form = new URLSearchParams(await request.clone().text())
      if (form.get('grant_type') !== 'refresh_token') return undefined
      await during()
      if (refuse) return HttpResponse.json({error: 'invalid_grant', error_description: 'Refresh token has already been used.'}, {status: 400})
      return undefined // the mock answers: provisioning refresh tokens are single-use, so it refuses the spent one
    }, {once: true}),
  )
}

/** The winning process: refreshes the same stored session and saves the new pair (compare-and-replace). */
async function winnerRefreshes(setup: Setup): Promise<Session> {
  const {deps, store, session} = setup
  const refresher = session.kind === 'provisioning' ? provisioningRefresher : oauthRefresher
  const winner = refreshedSession(session, await refresher(deps, session), deps.now())
  expect(await store.replace!(winner, {ifRefreshToken: session.refresh_token})).toBe('saved')
  return winner
}

describe.each<[StoreKind, Path]>([
  ['file', 'login'],
  ['keychain', 'login'],
  ['file', 'signup'],
  ['keychain', 'signup'],
])('a lost refresh race on the %s store, %s session', (kind, path) => {
  it('invalid_grant after another process rotated the token: uses the stored pair and succeeds', async () => {
    const setup = await withSession(kind, path)
    const {h, deps, store, session} = setup
    h.advance(3600)
    let winner: Session | undefined
    whileRefreshing(h, path, async () => (winner = await winnerRefreshes(setup)), {refuse: path === 'login'})
    const fresh = await ensureFresh(deps, {store, session})
    expect(winner!.refresh_token).not.toBe(session.refresh_token)
    expect(fresh).toMatchObject({refreshed: false, session: {access_token: winner!.access_token, refresh_token: winner!.refresh_token}})
    expect((await store.get(session))!.refresh_token).toBe(winner!.refresh_token)
    expect(h.logLines().some((line) => line.event === 'refresh.lost_race')).toBe(true)
    // The winner's access token is the one that works.
    const me = await fetch(`${US_ISSUER}/api/users/@me/`, {headers: {authorization: `Bearer ${fresh.session.access_token}`}})
    expect(me.status).toBe(200)
  })

  it('invalid_grant for the session still stored: exit 5, saying once what to run', async () => {
    const setup = await withSession(kind, path)
    const {h, deps, store, session} = setup
    h.advance(3600)
    // Someone spent the refresh token without saving the result (a crash after the request): nothing stored changed.
    whileRefreshing(h, path, async () => (session.kind === 'provisioning' ? provisioningRefresher : oauthRefresher)(deps, session), {refuse: path === 'login'})
    const error = await ensureFresh(deps, {store, session}).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OnrampError)
    const again = path === 'login' ? 'onramp login' : 'onramp signup'
    expect(error).toMatchObject({exit: ExitCode.sessionExpired, nextCommand: again})
    const message = (error as Error).message
    expect(message.match(/\bRun onramp /g)).toHaveLength(1)
    expect(message).toMatch(path === 'login' ? /Run onramp login to sign in again\.$/ : /Run onramp signup again with the same email to authorize a new one\.$/)
    expect((await store.get(session))!.refresh_token).toBe(session.refresh_token) // nothing lost or rewritten
  })
})
