import {requiredScopesFor} from '../scopes/constant.js'
import {regionOfIssuer} from '../select-server.js'
import {accountOf, isExpiring, REFRESH_MARGIN_SECONDS, requiredScopesOf, type Session} from '../session/session.js'
import type {StorageDescription} from '../session/store.js'

/**
 * A session as every command shows it (`login`, `signup`, `status`, `token`): one shape, so scripts read
 * the same fields everywhere. What is not known is null, never an empty string or list.
 */
export interface SessionView {
  issuer: string
  host: string
  region: 'us' | 'eu' | null
  client_id: string | null
  /** `oauth` (login) or `provisioning` (signup); null for ONRAMP_TOKEN. */
  kind: Session['kind'] | null
  /** `store` (saved by login or signup) or `env` (ONRAMP_TOKEN, used as-is). */
  source: 'store' | 'env'
  /**
   * False for ONRAMP_TOKEN (onramp did not check it) and for a session whose grant the server would not
   * read back: its scopes are the ones requested, not confirmed.
   */
  verified: boolean
  /** The account the session is stored under (--account, ONRAMP_ACCOUNT, `.onramp.json` name it): the email, else the user id; null when unknown. */
  account: string | null
  /** Why `verified` is false; null when verified. */
  unverified_reason: string | null
  user: {email: string | null; name: string | null; id: string | null} | null
  scopes: string[] | null
  /** What the login (or signup) asked for (--scopes, or the built-in set); null when unknown (a session stored before onramp recorded it, ONRAMP_TOKEN). */
  requested_scopes: string[] | null
  /**
   * What `missing_required_scopes` is judged against: the scopes the login required (all of --scopes, or the
   * built-in required set), the built-in set for a session that recorded none; null for ONRAMP_TOKEN.
   */
  required_scopes: string[] | null
  missing_required_scopes: string[] | null
  expires_at: string | null
  /** valid; expiring (within the refresh margin); expired (`onramp token` refreshes it); unknown (ONRAMP_TOKEN). */
  state: 'valid' | 'expiring' | 'expired' | 'unknown'
  storage: StorageDescription
}

type StoredMetadata = Omit<Session, 'access_token' | 'refresh_token'>

export function sessionView(session: StoredMetadata, {storage, now}: {storage: StorageDescription; now: Date}): SessionView {
  const surface = session.kind === 'provisioning' ? 'signup' : 'login'
  const required = requiredScopesOf(session, requiredScopesFor(surface))
  return {
    issuer: session.issuer,
    host: new URL(session.issuer).host,
    region: session.region ?? regionOfIssuer(session.issuer),
    client_id: session.client_id,
    kind: session.kind,
    source: 'store',
    verified: session.unverified === undefined,
    unverified_reason: session.unverified ?? null,
    account: accountOf(session),
    user: session.user ? {email: session.user.email ?? null, name: session.user.name ?? null, id: session.user.id ?? null} : null,
    scopes: [...session.scope],
    requested_scopes: session.requested_scopes ? [...session.requested_scopes] : null,
    required_scopes: required,
    // Judged against what this session's login asked for (--scopes, or the built-in set), never another set;
    // not confirmed is not "none missing": unknown.
    missing_required_scopes:
      session.unverified === undefined ? required.filter((scope) => !session.scope.includes(scope)) : null,
    expires_at: session.expires_at,
    state: stateOf(session, now),
    storage,
  }
}

/** ONRAMP_TOKEN: we know where it points, nothing else. */
export function envSessionView(issuer: string): SessionView {
  return {
    issuer,
    host: new URL(issuer).host,
    region: regionOfIssuer(issuer),
    client_id: null,
    kind: null,
    source: 'env',
    verified: false,
    account: null,
    unverified_reason: 'ONRAMP_TOKEN is used as-is: onramp does not check it',
    user: null,
    scopes: null,
    requested_scopes: null,
    required_scopes: null,
    missing_required_scopes: null,
    expires_at: null,
    state: 'unknown',
    storage: {kind: 'env', location: 'ONRAMP_TOKEN'},
  }
}

function stateOf(session: Pick<Session, 'expires_at'>, now: Date): SessionView['state'] {
  if (session.expires_at && Date.parse(session.expires_at) <= now.getTime()) return 'expired'
  return isExpiring(session, now, REFRESH_MARGIN_SECONDS) ? 'expiring' : 'valid'
}
