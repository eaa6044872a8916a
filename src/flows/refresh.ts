import path from 'node:path'

import type {Deps} from '../deps.js'
import {NotLoggedInError, SessionExpiredError} from '../errors.js'
import {lostScopes} from '../scopes/preflight.js'
import {afterRefusal, refreshedSession, signInAgain, validateSession, type RefreshedTokens} from '../session/freshness.js'
import {lockPathFor, withLock} from '../session/lock.js'
import {REFRESH_MARGIN_SECONDS, sessionKey, type Session, type SessionKind} from '../session/session.js'
import type {SessionStore} from '../session/store.js'
import {assertStoreUsable} from '../session/usable.js'

export type {RefreshedTokens} from '../session/freshness.js'

export interface FreshSession {
  session: Session
  refreshed: boolean
  /** Scopes a refresh took away (server-side ceiling narrowing). */
  lost: string[]
  /**
   * Set when the refreshed pair could not be saved: the access token is good, but the next run will
   * find the old (now spent) refresh token. Says why, for the `token` command to print.
   */
  notKept?: string
}

/**
 * Spends `session.refresh_token` at the endpoint of the session's kind. Throws SessionExpiredError
 * when the server refuses the refresh token (`invalid_grant`).
 */
export type Refresher = (deps: Deps, session: Session) => Promise<RefreshedTokens>

/** The OAuth token endpoint from discovery (RFC 6749 section 6). */
export const oauthRefresher: Refresher = async (deps, session) => {
  const [{discover}, {createOAuthClient}] = await Promise.all([import('../oauth/discovery.js'), import('../oauth/client.js')])
  const discovered = await discover(deps, session.issuer)
  const tokens = await createOAuthClient({discovered, clientId: session.client_id, http: deps.http}).refresh(session.refresh_token!)
  return {
    access_token: tokens.access_token,
    ...(tokens.refresh_token === null ? {} : {refresh_token: tokens.refresh_token}),
    ...(tokens.expires_in === undefined ? {} : {expires_in: tokens.expires_in}),
    ...(tokens.scope === undefined ? {} : {scope: tokens.scope}),
  }
}

/** `onramp signup`'s sessions: loaded on use, so `onramp token` for an OAuth session does not import it. */
export const provisioningRefresher: Refresher = async (deps, session) =>
  (await import('../provisioning/refresher.js')).refreshProvisioningSession(deps, session)

export interface EnsureFreshOptions {
  store: SessionStore
  session: Session
  /** Refresh first when the access token expires within this many seconds (`token --min-valid`). */
  minValidSeconds?: number
  /** The refresh call per session kind; defaults: oauthRefresher, provisioningRefresher. A kind with none exits 5. */
  refreshers?: Partial<Record<SessionKind, Refresher>>
}

/** The refresh call of each kind unless the caller brings its own. */
const DEFAULT_REFRESHERS: Record<SessionKind, Refresher> = {oauth: oauthRefresher, provisioning: provisioningRefresher}

/**
 * A session whose access token is good for at least `minValidSeconds`, refreshing it when needed
 * (client.md "Sessions, storage and refresh"). The decisions are session/freshness.ts's pure
 * functions; this is the story that acts on them, the same for every store and session kind:
 * 1. validateSession: ok -> use it; needs_full_auth -> exit 5 naming login or signup;
 * 2. lock (keyed by the credential's identity: issuer + client id, whatever the backend) and re-read:
 *    another process may have refreshed while we waited;
 * 3. check the store can take the new pair before the refresh token is spent;
 * 4. refresh, then compare-and-replace: the new pair is saved only if the store still holds the token
 *    that was spent (a logout or a newer login meanwhile wins);
 * 5. `invalid_grant`: re-read under the same lock (afterRefusal). If the stored refresh token changed,
 *    another process won the race: use its session (or refresh once with its pair). Exit 5 only when
 *    the refused session is still the stored one. Provisioning sessions rotate with no grace period,
 *    so there the re-read is the only way a loser survives.
 */
export async function ensureFresh(deps: Deps, options: EnsureFreshOptions): Promise<FreshSession> {
  const {store, session, minValidSeconds = REFRESH_MARGIN_SECONDS} = options
  const refreshers = {...DEFAULT_REFRESHERS, ...options.refreshers}
  const decide = (candidate: Session) =>
    validateSession(candidate, {now: deps.now(), minValidSeconds, refreshable: (Object.keys(refreshers) as SessionKind[]).filter((kind) => refreshers[kind])})
  const first = decide(session)
  if (first.status === 'ok') return {session, refreshed: false, lost: []}
  if (first.status === 'needs_full_auth') throw new SessionExpiredError(first.reason, {nextCommand: first.nextCommand})
  // The store's own lock when it has one (Redis: across machines), else a lock file in the state dir whose
  // holder's heartbeat keeps a slow refresh's lock; the wait covers discovery retries plus the refresh request.
  const locked = <T>(fn: () => Promise<T>): Promise<T> =>
    store.withRefreshLock
      ? store.withRefreshLock(session, fn)
      : withLock(lockPathFor({dir: path.join(deps.paths.state, 'locks'), identity: sessionKey(session)}), fn, {timeoutMs: 90_000})
  return locked(
    async () => {
      const current = await store.get(session)
      if (!current) throw new NotLoggedInError(`The session for ${session.issuer} was removed while refreshing.`)
      const now = decide(current)
      if (now.status === 'ok') {
        deps.logger.event('refresh.skipped', {issuer: current.issuer, reason: 'already refreshed by another process'}, 'debug')
        return {session: current, refreshed: false, lost: []}
      }
      if (now.status === 'needs_full_auth') throw new SessionExpiredError(now.reason, {nextCommand: now.nextCommand})
      // Before the refresh token is spent: a store that cannot take the new pair would lose the session.
      await assertStoreUsable(store)
      return refreshOnce(deps, {store, refresher: refreshers[current.kind]!, current, minValidSeconds, retried: false})
    },
  )
}

interface RefreshStep {
  store: SessionStore
  refresher: Refresher
  current: Session
  minValidSeconds: number
  retried: boolean
}

async function refreshOnce(deps: Deps, step: RefreshStep): Promise<FreshSession> {
  const {store, refresher, current, minValidSeconds, retried} = step
  let tokens: RefreshedTokens
  try {
    tokens = await refresher(deps, current)
  } catch (error) {
    if (!(error instanceof SessionExpiredError)) throw error
    // Still under the lock: what does the store hold now? Another process may have rotated the token
    // between our read and our request (a lock it took after ours went stale, or an older onramp).
    const stored = await store.get(current)
    const next = afterRefusal({refused: current, stored, now: deps.now(), minValidSeconds, retried})
    if (next.action === 'use_stored') {
      deps.logger.event('refresh.lost_race', {issuer: current.issuer, client_id: current.client_id, outcome: 'used the stored session'}, 'info')
      return {session: next.session, refreshed: false, lost: []}
    }
    if (next.action === 'refresh_stored') {
      deps.logger.event('refresh.lost_race', {issuer: current.issuer, client_id: current.client_id, outcome: 'refreshing the stored session'}, 'info')
      return refreshOnce(deps, {...step, current: next.session, retried: true})
    }
    if (next.action === 'removed') throw new NotLoggedInError(`The session for ${current.issuer} was removed while refreshing.`)
    deps.logger.event('refresh.failed', {issuer: current.issuer, client_id: current.client_id, error: error.message}, 'warn')
    const again = signInAgain(current.kind)
    throw new SessionExpiredError(`${error.message} ${again.advice}`, {cause: error, nextCommand: again.nextCommand})
  }
  const updated = refreshedSession(current, tokens, deps.now())
  const lost = lostScopes({before: current.scope, after: updated.scope})
  const warnNarrowed = () => {
    if (lost.length === 0) return
    deps.ui.warn(
      `The server narrowed this session on refresh: lost ${lost.join(', ')}. An admin changed the app's allowed scopes; run onramp login to see what can still be granted.`,
    )
    deps.logger.event('refresh.narrowed', {issuer: current.issuer, client_id: current.client_id, lost_scopes: lost}, 'warn')
  }

  let outcome: 'saved' | 'missing' | 'changed'
  try {
    outcome = await saveIfUnchanged(store, updated, current.refresh_token)
  } catch (error) {
    // Rotation has already spent the old refresh token: the access token is all that is left, so hand it out.
    const notKept = `the refreshed session could not be saved to ${store.location} (${(error as Error).message}); this access token works until ${updated.expires_at ?? 'the server says otherwise'}, then run onramp login`
    deps.ui.warn(`Not kept: ${notKept}.`)
    deps.logger.event('refresh.not_kept', {issuer: current.issuer, client_id: current.client_id, error: (error as Error).message}, 'warn')
    warnNarrowed()
    return {session: updated, refreshed: true, lost, notKept}
  }
  if (outcome === 'missing') {
    deps.logger.event('refresh.discarded', {issuer: current.issuer, client_id: current.client_id, reason: 'logged out meanwhile'}, 'info')
    throw new NotLoggedInError(`You logged out of ${current.issuer} while a refresh was running; its result was discarded.`)
  }
  if (outcome === 'changed') {
    // A newer login (or another writer) replaced the session: it wins, ours is discarded.
    deps.logger.event('refresh.discarded', {issuer: current.issuer, client_id: current.client_id, reason: 'a newer session was saved meanwhile'}, 'info')
    const newer = await store.get(current)
    if (!newer) throw new NotLoggedInError(`The session for ${current.issuer} was removed while refreshing.`)
    return {session: newer, refreshed: false, lost: []}
  }
  deps.logger.event('refresh.success', {issuer: current.issuer, client_id: current.client_id, expires_at: updated.expires_at}, 'info')
  warnNarrowed()
  return {session: updated, refreshed: true, lost}
}

/**
 * Saves the refreshed session only if the store still holds the refresh token that was spent. Stores
 * with `replace` compare and write under one lock; others get a read-then-write (a narrow window).
 */
async function saveIfUnchanged(store: SessionStore, updated: Session, spent: string | null): Promise<'saved' | 'missing' | 'changed'> {
  if (store.replace) return store.replace(updated, {ifRefreshToken: spent})
  const stored = await store.get(updated)
  if (!stored) return 'missing'
  if (stored.refresh_token !== spent) return 'changed'
  await store.save(updated)
  return 'saved'
}
