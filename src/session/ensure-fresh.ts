import path from 'node:path'

import type {Deps} from '../deps.js'
import {NotLoggedInError, SessionExpiredError} from '../errors.js'
import {createOAuthClient, type OAuthClient} from '../oauth/client.js'
import {discover} from '../oauth/discovery.js'
import {parseScopeString} from '../scopes/constant.js'
import {lostScopes} from '../scopes/preflight.js'
import {lockPathFor, withLock} from './lock.js'
import {expiresAt, isExpiring, REFRESH_MARGIN_SECONDS, sessionKey, type Session} from './session.js'
import type {SessionStore} from './store.js'

export interface FreshSession {
  session: Session
  refreshed: boolean
  /** Scopes a refresh took away (server-side ceiling narrowing). */
  lost: string[]
}

/**
 * A session whose access token is good for at least a minute, refreshing it (RFC 6749 section 6) when
 * needed. Safe across processes: a lock per credential, re-read after taking it, skip when another
 * process already refreshed, persist the rotated refresh token at once. `invalid_grant` -> re-read and
 * retry once if the stored token changed, else the session is expired (exit 5).
 */
export async function ensureFresh(
  deps: Deps,
  {store, session, minValidSeconds = REFRESH_MARGIN_SECONDS}: {store: SessionStore; session: Session; minValidSeconds?: number},
): Promise<FreshSession> {
  if (!isExpiring(session, deps.now(), minValidSeconds)) return {session, refreshed: false, lost: []}
  if (!session.refresh_token) {
    throw new SessionExpiredError(`The access token for ${session.issuer} has expired and there is no refresh token.`)
  }
  const lockPath = lockPathFor(path.join(deps.paths.state, 'locks'), sessionKey(session))
  // staleMs beyond the worst case of discovery retries plus the refresh request, so a slow refresh keeps its lock.
  return withLock(lockPath, async () => {
    const current = await store.get(session)
    if (!current) throw new NotLoggedInError(`The session for ${session.issuer} was removed while refreshing.`)
    if (!isExpiring(current, deps.now(), minValidSeconds)) {
      deps.logger.event('refresh.skipped', {issuer: current.issuer, reason: 'already refreshed by another process'}, 'debug')
      return {session: current, refreshed: false, lost: []}
    }
    const discovered = await discover(deps, current.issuer)
    const client = createOAuthClient({discovered, clientId: current.client_id, http: deps.http})
    const refreshed = await refreshOnce(deps, {store, client, current, retried: false, minValidSeconds})
    const lost = lostScopes({before: current.scope, after: refreshed.scope})
    if (lost.length > 0) {
      deps.ui.warn(
        `The server narrowed this session on refresh: lost ${lost.join(', ')}. An admin changed the app's allowed scopes; run onramp login to see what can still be granted.`,
      )
      deps.logger.event('refresh.narrowed', {issuer: current.issuer, client_id: current.client_id, lost_scopes: lost}, 'warn')
    }
    return {session: refreshed, refreshed: true, lost}
  }, {staleMs: 120_000, timeoutMs: 90_000})
}

async function refreshOnce(
  deps: Deps,
  {store, client, current, retried, minValidSeconds}: {store: SessionStore; client: OAuthClient; current: Session; retried: boolean; minValidSeconds: number},
): Promise<Session> {
  try {
    const tokens = await client.refresh(current.refresh_token!)
    const now = deps.now()
    const updated: Session = {
      ...current,
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token ?? current.refresh_token,
      expires_at: expiresAt(now, tokens.expires_in),
      scope: tokens.scope === undefined ? current.scope : parseScopeString(tokens.scope),
      obtained_at: now.toISOString(),
    }
    await store.save(updated) // at once: rotation has already revoked the old refresh token
    deps.logger.event('refresh.success', {issuer: current.issuer, client_id: current.client_id, expires_at: updated.expires_at}, 'info')
    return updated
  } catch (error) {
    if (!(error instanceof SessionExpiredError)) throw error
    // Another process may have rotated the token between our read and our request.
    const stored = await store.get(current)
    if (!retried && stored?.refresh_token && stored.refresh_token !== current.refresh_token) {
      if (!isExpiring(stored, deps.now(), minValidSeconds)) return stored
      return refreshOnce(deps, {store, client, current: stored, retried: true, minValidSeconds})
    }
    deps.logger.event('refresh.failed', {issuer: current.issuer, client_id: current.client_id, error: error.message}, 'warn')
    throw new SessionExpiredError(`${error.message} Run onramp login to sign in again.`, {cause: error})
  }
}
