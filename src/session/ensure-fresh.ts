import path from 'node:path'

import type {Deps} from '../deps.js'
import {NotLoggedInError, SessionExpiredError} from '../errors.js'
import {createOAuthClient} from '../oauth/client.js'
import {discover} from '../oauth/discovery.js'
import {parseScopeString} from '../scopes/constant.js'
import {lostScopes} from '../scopes/preflight.js'
import {lockPathFor, withLock} from './lock.js'
import {expiresAt, isExpiring, REFRESH_MARGIN_SECONDS, sessionKey, type Session, type SessionKind} from './session.js'
import type {SessionStore} from './store.js'
import {assertStoreUsable} from './usable.js'

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

/** What a token endpoint answered to a refresh (RFC 6749 section 5.1). */
export interface RefreshedTokens {
  access_token: string
  refresh_token?: string
  expires_in?: number
  scope?: string
}

/**
 * Spends `session.refresh_token` at the endpoint of the session's kind. Throws SessionExpiredError
 * when the server refuses the refresh token (`invalid_grant`).
 */
export type Refresher = (deps: Deps, session: Session) => Promise<RefreshedTokens>

/** The OAuth token endpoint from discovery (RFC 6749 section 6). */
export const oauthRefresher: Refresher = async (deps, session) => {
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

/**
 * A session whose access token is good for at least `minValidSeconds`, refreshing it when needed
 * (client.md "Sessions, storage and refresh"). Safe across processes: a lock keyed by the credential's
 * identity (issuer + client id, whatever the backend), re-read after taking it, skip when another
 * process already refreshed. The refresh token is spent only once the store is known to be writable;
 * the new pair is saved only if the store still holds the token that was spent (a logout or a newer
 * login meanwhile wins). `invalid_grant` -> re-read and retry once if the stored token changed, else exit 5.
 */
export async function ensureFresh(deps: Deps, options: EnsureFreshOptions): Promise<FreshSession> {
  const {store, session, minValidSeconds = REFRESH_MARGIN_SECONDS} = options
  if (!isExpiring(session, deps.now(), minValidSeconds)) return {session, refreshed: false, lost: []}
  if (!session.refresh_token) {
    throw new SessionExpiredError(`The access token for ${session.issuer} expires within ${minValidSeconds} s and there is no refresh token.`, {
      nextCommand: session.kind === 'provisioning' ? 'onramp signup' : 'onramp login',
    })
  }
  const lockPath = lockPathFor({dir: path.join(deps.paths.state, 'locks'), identity: sessionKey(session)})
  // staleMs beyond the worst case of discovery retries plus the refresh request, so a slow refresh keeps its lock.
  return withLock(
    lockPath,
    async () => {
      const current = await store.get(session)
      if (!current) throw new NotLoggedInError(`The session for ${session.issuer} was removed while refreshing.`)
      if (!isExpiring(current, deps.now(), minValidSeconds)) {
        deps.logger.event('refresh.skipped', {issuer: current.issuer, reason: 'already refreshed by another process'}, 'debug')
        return {session: current, refreshed: false, lost: []}
      }
      // Before the refresh token is spent: a store that cannot take the new pair would lose the session.
      await assertStoreUsable(store)
      const kind = current.kind
      const refresher = options.refreshers?.[kind] ?? (kind === 'oauth' ? oauthRefresher : kind === 'provisioning' ? provisioningRefresher : undefined)
      if (!refresher) throw new SessionExpiredError(`onramp cannot refresh a ${kind} session for ${current.issuer}.`)
      return refreshOnce(deps, {store, refresher, current, minValidSeconds, retried: false})
    },
    {staleMs: 120_000, timeoutMs: 90_000},
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
    // Another process may have rotated the token between our read and our request.
    const stored = await store.get(current)
    if (!retried && stored?.refresh_token && stored.refresh_token !== current.refresh_token) {
      if (!isExpiring(stored, deps.now(), minValidSeconds)) return {session: stored, refreshed: false, lost: []}
      return refreshOnce(deps, {...step, current: stored, retried: true})
    }
    deps.logger.event('refresh.failed', {issuer: current.issuer, client_id: current.client_id, error: error.message}, 'warn')
    // A provisioning session comes back with signup (an existing account confirms in the browser), a login session with login.
    const again = current.kind === 'provisioning' ? 'onramp signup' : 'onramp login'
    throw new SessionExpiredError(`${error.message} Run ${again} to sign in again.`, {cause: error, nextCommand: again})
  }
  const now = deps.now()
  const updated: Session = {
    ...current,
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token ?? current.refresh_token,
    expires_at: expiresAt(now, tokens.expires_in),
    scope: tokens.scope === undefined ? current.scope : parseScopeString(tokens.scope),
    obtained_at: now.toISOString(),
  }
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
