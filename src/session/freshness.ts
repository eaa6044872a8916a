/**
 * The refresh decisions, as pure functions of data (Shopify's `validateSession`: ok / needs_refresh /
 * needs_full_auth): what to do with a stored session, what a refresh answer makes of it, and what to
 * do when the server refuses the refresh token. They read no store, take no lock and call no server:
 * the story that acts on them is `flows/refresh.ts`.
 */
import {parseScopeString} from '../scopes/constant.js'
import {expiresAt, isExpiring, type Session, type SessionKind} from './session.js'

/** What a token endpoint answered to a refresh (RFC 6749 section 5.1). */
export interface RefreshedTokens {
  access_token: string
  refresh_token?: string
  expires_in?: number
  scope?: string
}

/** The command that brings a session of this kind back when it cannot be refreshed. */
export function signInAgain(kind: SessionKind): {nextCommand: 'onramp login' | 'onramp signup'; advice: string} {
  // A provisioning session comes back with signup (an existing account confirms in the browser), a login session with login.
  return kind === 'provisioning'
    ? {nextCommand: 'onramp signup', advice: 'Run onramp signup again with the same email to authorize a new one.'}
    : {nextCommand: 'onramp login', advice: 'Run onramp login to sign in again.'}
}

export type Freshness =
  | {status: 'ok'}
  | {status: 'needs_refresh'}
  | {status: 'needs_full_auth'; reason: string; nextCommand: 'onramp login' | 'onramp signup'}

export interface FreshnessOptions {
  now: Date
  /** The access token must stay good for at least this many seconds. */
  minValidSeconds: number
  /** The session kinds this process can refresh. */
  refreshable: readonly SessionKind[]
}

/** Whether `session` can be used as it is, must be refreshed, or needs a new login (or signup). */
export function validateSession(session: Session, {now, minValidSeconds, refreshable}: FreshnessOptions): Freshness {
  if (!isExpiring(session, now, minValidSeconds)) return {status: 'ok'}
  const {nextCommand} = signInAgain(session.kind)
  if (!session.refresh_token) {
    return {status: 'needs_full_auth', nextCommand, reason: `The access token for ${session.issuer} expires within ${minValidSeconds} s and there is no refresh token.`}
  }
  if (!refreshable.includes(session.kind)) return {status: 'needs_full_auth', nextCommand, reason: `onramp cannot refresh a ${session.kind} session for ${session.issuer}.`}
  return {status: 'needs_refresh'}
}

/** The session after a successful refresh: what the server left out (refresh token, scope) stays as it was. */
export function refreshedSession(current: Session, tokens: RefreshedTokens, now: Date): Session {
  return {
    ...current,
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token ?? current.refresh_token,
    expires_at: expiresAt(now, tokens.expires_in),
    scope: tokens.scope === undefined ? current.scope : parseScopeString(tokens.scope),
    obtained_at: now.toISOString(),
  }
}

export type AfterRefusal =
  /** Another process refreshed first and its access token is good: use what it stored. */
  | {action: 'use_stored'; session: Session}
  /** Another process rotated the token, but its access token is expiring too: refresh with the stored pair. */
  | {action: 'refresh_stored'; session: Session}
  /** The session was removed meanwhile (a logout). */
  | {action: 'removed'}
  /** The refused refresh token is still the stored one: only a new login (or signup) helps. */
  | {action: 'needs_full_auth'}

/**
 * The server answered `invalid_grant` to `refused.refresh_token`; `stored` is the session as re-read
 * under the lock. A different stored refresh token means another process won a race (its rotation
 * spent ours): the session is fine. `retried` is true once a stored pair was already tried, so a
 * second refusal ends it.
 */
export function afterRefusal({refused, stored, now, minValidSeconds, retried}: {refused: Session; stored: Session | undefined; now: Date; minValidSeconds: number; retried: boolean}): AfterRefusal {
  if (!stored) return {action: 'removed'}
  if (!stored.refresh_token || stored.refresh_token === refused.refresh_token) {
    // Same refresh token, but a newer access token (a winner whose rotation kept the refresh token): use it.
    if (stored.access_token !== refused.access_token && !isExpiring(stored, now, minValidSeconds)) return {action: 'use_stored', session: stored}
    return {action: 'needs_full_auth'}
  }
  if (!isExpiring(stored, now, minValidSeconds)) return {action: 'use_stored', session: stored}
  return retried ? {action: 'needs_full_auth'} : {action: 'refresh_stored', session: stored}
}
