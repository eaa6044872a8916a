import {rememberSecret} from '../redact.js'

/** The stored session (client.md "Sessions, storage and refresh"), keyed by issuer + client id. */
export interface Session {
  issuer: string
  client_id: string
  region: 'us' | 'eu' | null
  access_token: string
  refresh_token: string | null
  /** ISO 8601; null when the server did not say (treated as not expiring). */
  expires_at: string | null
  scope: string[]
  user: {email?: string; name?: string; id?: string} | null
  /** ISO 8601. */
  obtained_at: string
  /** How it refreshes: `oauth` (login, the OAuth token endpoint) or `provisioning` (signup, the agentic token endpoint). */
  kind: SessionKind
  /**
   * What the login or signup asked for, and which of it was required (all of it with --scopes; the
   * constant's required subset with the built-in set). Missing scopes are judged against these. Absent in
   * sessions written before they were kept: judged against the built-in set, as then.
   */
  requested_scopes?: string[]
  required_scopes?: string[]
  /**
   * Set when the server's grant could not be read back: why. `scope` then holds the scopes requested, not
   * confirmed ones. Absent: the scopes are the server's own statement (token response or introspection).
   */
  unverified?: string
}

/** The scopes a session must hold to work as its login asked: what it recorded, else `fallback` (the built-in set). */
export function requiredScopesOf(session: Pick<Session, 'required_scopes'>, fallback: readonly string[]): string[] {
  return [...(session.required_scopes ?? fallback)]
}

export type SessionKind = 'oauth' | 'provisioning'

/**
 * What identifies a stored session: server (issuer), app (client id), account (the user's email, else
 * their id) and kind. A login and a signup session of one account coexist; two accounts on one server
 * never replace each other. Sessions and their metadata carry all of it, so they are keys themselves.
 */
export interface SessionKey {
  issuer: string
  client_id: string
  /** Absent: `oauth` (sessions written before signup existed). */
  kind?: SessionKind | undefined
  /** Absent or null: an account the server did not name. */
  user?: Session['user'] | undefined
}

/** The account a session belongs to, as people name it: the email (lower-cased), else the user id; null when unknown. */
export function accountOf({user}: Pick<SessionKey, 'user'>): string | null {
  const email = user?.email?.trim()
  if (email) return email.toLowerCase()
  const id = user?.id?.trim()
  return id ? id : null
}

/**
 * The store key and lock identity, an opaque string the stores never interpret: stores keep a session
 * under it and find it again by it. `#` separates the parts: an issuer never contains a fragment
 * (RFC 8414 section 2), and the client id and account are percent-encoded, so two different sessions
 * can never produce the same key. Keys written before accounts existed (`issuer#client_id`) are found
 * through `findStoredKey`.
 */
export function sessionKey(key: SessionKey): string {
  // Without trailing slashes, so `https://h/` and `https://h` are one identity.
  const issuer = key.issuer.replace(/\/+$/, '')
  return `${issuer}#${encodeURIComponent(key.client_id)}#${key.kind ?? 'oauth'}#${encodeURIComponent(accountOf(key) ?? '')}`
}

/**
 * Where a store holds the session `id` names: under `id` itself, or under an older key (written before
 * accounts were part of the key) whose entry is that session. `identity` reads an entry's key from its
 * content (undefined for an entry it cannot read). Stores use it to read, replace and delete migrated
 * sessions, and move them to their new key at their next save.
 */
export function findStoredKey<T>(entries: Iterable<[string, T]>, id: string, identity: (entry: T) => string | undefined): string | undefined {
  let legacy: string | undefined
  for (const [stored, entry] of entries) {
    if (stored === id) return stored
    if (legacy === undefined && identity(entry) === id) legacy = stored
  }
  return legacy
}

/** True when the access token expires within `withinSeconds` of `now` (or already has). */
export function isExpiring(session: Pick<Session, 'expires_at'>, now: Date, withinSeconds = 60): boolean {
  if (session.expires_at === null) return false // unknown lifetime: use it until the server says 401
  const expires = Date.parse(session.expires_at)
  if (Number.isNaN(expires)) return true // unreadable: refreshing is the safe choice
  return expires - now.getTime() <= withinSeconds * 1000
}

/** A session that failed validation; `field` names the offending property. */
export class InvalidSessionError extends Error {
  readonly field: string
  constructor(field: string, expected: string) {
    super(`Invalid session: "${field}" must be ${expected}.`)
    this.name = 'InvalidSessionError'
    this.field = field
  }
}

/**
 * Validates data read back from a store and returns a clean copy holding only the known fields.
 * Nullable fields may be absent (read as null) so older files stay readable; everything else is strict.
 */
export function parseSession(value: unknown): Session {
  if (!isRecord(value)) throw new InvalidSessionError('session', 'an object')
  const text = (field: string): string => {
    const item = value[field]
    if (typeof item !== 'string' || item === '') throw new InvalidSessionError(field, 'a non-empty string')
    return item
  }
  const nullableText = (field: string): string | null => {
    const item = value[field]
    if (item === undefined || item === null) return null
    if (typeof item !== 'string' || item === '') throw new InvalidSessionError(field, 'a non-empty string or null')
    return item
  }
  const date = (field: string, item: string | null): void => {
    if (item !== null && Number.isNaN(Date.parse(item))) throw new InvalidSessionError(field, 'an ISO 8601 date')
  }

  // Checked in declaration order, so the first bad field is the one named.
  const issuer = text('issuer')
  const client_id = text('client_id')
  const region = value.region ?? null
  if (region !== null && region !== 'us' && region !== 'eu') throw new InvalidSessionError('region', '"us", "eu" or null')
  const access_token = text('access_token')
  const refresh_token = nullableText('refresh_token')
  const expires_at = nullableText('expires_at')
  date('expires_at', expires_at)
  const scope = value.scope
  if (!Array.isArray(scope) || !scope.every((item) => typeof item === 'string')) {
    throw new InvalidSessionError('scope', 'an array of strings')
  }
  const user = parseUser(value.user)
  const obtained_at = text('obtained_at')
  date('obtained_at', obtained_at)
  // Every stored session passes here: from now on redact() hides these values whatever their shape.
  rememberSecret(access_token)
  rememberSecret(refresh_token)

  const kind = value.kind ?? 'oauth' // sessions written before signup existed are OAuth sessions
  if (kind !== 'oauth' && kind !== 'provisioning') throw new InvalidSessionError('kind', '"oauth", "provisioning" or absent')

  const scopeList = (field: 'requested_scopes' | 'required_scopes'): string[] | undefined => {
    const item = value[field]
    if (item === undefined || item === null) return undefined
    if (!Array.isArray(item) || !item.every((entry) => typeof entry === 'string')) throw new InvalidSessionError(field, 'an array of strings or absent')
    return [...item]
  }
  const requested_scopes = scopeList('requested_scopes')
  const required_scopes = scopeList('required_scopes')

  const unverified = value.unverified
  if (unverified !== undefined && (typeof unverified !== 'string' || unverified === '')) throw new InvalidSessionError('unverified', 'a non-empty string or absent')

  return {
    issuer,
    client_id,
    region,
    access_token,
    refresh_token,
    expires_at,
    scope: [...scope],
    user,
    obtained_at,
    kind,
    ...(requested_scopes ? {requested_scopes} : {}),
    ...(required_scopes ? {required_scopes} : {}),
    ...(unverified === undefined ? {} : {unverified}),
  }
}

function parseUser(value: unknown): Session['user'] {
  if (value === undefined || value === null) return null
  if (!isRecord(value)) throw new InvalidSessionError('user', 'an object or null')
  const user: NonNullable<Session['user']> = {}
  for (const key of ['email', 'name', 'id'] as const) {
    const item = value[key]
    if (item === undefined) continue
    if (typeof item !== 'string') throw new InvalidSessionError(`user.${key}`, 'a string')
    user[key] = item
  }
  return user
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The longest access-token lifetime believed; a larger `expires_in` is clamped to it. */
const MAX_EXPIRES_IN_SECONDS = 10 * 365 * 24 * 60 * 60

/**
 * `expires_in` (RFC 6749 section 5.1, seconds from now) as the ISO time stored in a session. A server's
 * out-of-range value must not crash after the exchange (RangeError: Invalid time value): negative means
 * already expired, beyond ten years is clamped, and anything not a finite number is unknown.
 */
export function expiresAt(now: Date, expiresIn: number | undefined): string | null {
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn)) return null
  const seconds = Math.min(Math.max(expiresIn, 0), MAX_EXPIRES_IN_SECONDS)
  return new Date(now.getTime() + seconds * 1000).toISOString()
}

/** Refresh when the access token expires within this many seconds (client.md "onramp token"). */
export const REFRESH_MARGIN_SECONDS = 60
