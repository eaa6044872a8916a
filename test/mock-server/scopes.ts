/**
 * The server's scope model and ceiling rules (server.md section 2), derived from scope-data.ts.
 * Independent of the CLI's src/scopes/constant.ts on purpose: the mock plays the server.
 */
import {
  ALWAYS_ALLOWED_SCOPES,
  INTERNAL_SCOPE_OBJECTS,
  OAUTH_HIDDEN_SCOPE_OBJECTS,
  PRIVILEGED_SCOPES,
  SCOPE_ACTIONS,
  SCOPE_OBJECTS,
} from './scope-data.js'

/** The ceiling entry that stands for "every unprivileged scope". */
export const DEFAULT_CEILING_MARKER = '@default'
export const WILDCARD = '*'

/** ALL: every non-internal object x both actions, in object order, read before write (216). */
export const ALL_SCOPES: readonly string[] = SCOPE_OBJECTS.filter((object) => !INTERNAL_SCOPE_OBJECTS.includes(object)).flatMap((object) =>
  SCOPE_ACTIONS.map((action) => `${object}:${action}`),
)

/** HIDDEN: hidden objects x both actions (6). */
export const HIDDEN_SCOPES: readonly string[] = OAUTH_HIDDEN_SCOPE_OBJECTS.flatMap((object) => SCOPE_ACTIONS.map((action) => `${object}:${action}`))

/** UNPRIVILEGED = ALL - PRIVILEGED - HIDDEN (208): the broad default ceiling and all a DCR app may get. */
export const UNPRIVILEGED_SCOPES: readonly string[] = ALL_SCOPES.filter((scope) => !PRIVILEGED_SCOPES.includes(scope) && !HIDDEN_SCOPES.includes(scope))

/**
 * scopes_supported (server.md section 1): always-allowed + UNPRIVILEGED (212). Privileged, hidden and
 * internal scopes and `*` are never listed, although a ceiling may grant them.
 */
export function scopesSupported(): string[] {
  return [...ALWAYS_ALLOWED_SCOPES, ...UNPRIVILEGED_SCOPES]
}

export function isAlwaysAllowed(scope: string): boolean {
  return ALWAYS_ALLOWED_SCOPES.includes(scope)
}

/** RFC 6749 section 3.3: a space-delimited list; duplicates dropped, order kept. */
export function parseScopeParameter(value: string | undefined | null): string[] {
  return dedupe((value ?? '').split(/\s+/).filter(Boolean))
}

/** Scopes given as a JSON array or a space-delimited string (provisioning accepts both). */
export function parseScopeList(value: unknown): string[] {
  if (Array.isArray(value)) return dedupe(value.filter((scope): scope is string => typeof scope === 'string' && scope.length > 0))
  if (typeof value === 'string') return parseScopeParameter(value)
  return []
}

export function formatScopes(scopes: readonly string[]): string {
  return scopes.join(' ')
}

/** An empty ceiling means "broad default" (server.md section 2): it alone lets `/oauth/authorize` accept `*`. */
export function isBroadCeiling(ceiling: readonly string[]): boolean {
  return ceiling.length === 0
}

/**
 * The scopes an app may be granted, as an ordered list (server.md section 2):
 * empty -> UNPRIVILEGED; contains `@default` -> UNPRIVILEGED plus the other entries; otherwise exactly the
 * listed entries. In every form a `:write` entry also admits its `:read` half.
 */
export function effectiveCeiling(ceiling: readonly string[]): string[] {
  const base = isBroadCeiling(ceiling) || ceiling.includes(DEFAULT_CEILING_MARKER) ? [...UNPRIVILEGED_SCOPES] : []
  const listed = ceiling.filter((entry) => entry !== DEFAULT_CEILING_MARKER)
  const readHalves = listed.filter((entry) => entry.endsWith(':write')).map((entry) => `${entry.slice(0, -':write'.length)}:read`)
  return dedupe([...base, ...listed, ...readHalves])
}

/** What `/oauth/authorize` may grant: the effective ceiling plus the always-allowed scopes. */
export function grantableScopes(ceiling: readonly string[]): string[] {
  return dedupe([...effectiveCeiling(ceiling), ...ALWAYS_ALLOWED_SCOPES])
}

export type AuthorizePolicy = 'reject' | 'clamp'

export type AuthorizeScopeDecision =
  | {ok: true; granted: string[]; dropped: string[]}
  | {ok: false; requested: string[]; grantable: string[]; missing: string[]}

/**
 * Applies an app's ceiling to the scopes asked for at `/oauth/authorize` (server.md section 3):
 * - empty request -> the effective ceiling plus the always-allowed scopes;
 * - `*` under an empty ceiling -> accepted as is (legacy);
 * - reject era: any scope outside the ceiling fails the whole request (`*` included);
 * - clamp era: out-of-ceiling scopes are dropped, `*` expands to the effective ceiling. A request of which
 *   nothing is left is refused as well (the mock's choice: granting an empty scope helps nobody).
 */
export function decideAuthorizeScopes({requested, ceiling, policy}: {requested: readonly string[]; ceiling: readonly string[]; policy: AuthorizePolicy}): AuthorizeScopeDecision {
  const grantable = grantableScopes(ceiling)
  if (requested.length === 0) return {ok: true, granted: grantable, dropped: []}
  const allowed = new Set(grantable)
  if (isBroadCeiling(ceiling)) allowed.add(WILDCARD)
  const missing = requested.filter((scope) => !allowed.has(scope))
  if (policy === 'reject') {
    return missing.length === 0 ? {ok: true, granted: [...requested], dropped: []} : {ok: false, requested: [...requested], grantable, missing}
  }
  const expanded = requested.flatMap((scope) => (scope === WILDCARD && !isBroadCeiling(ceiling) ? effectiveCeiling(ceiling) : [scope]))
  const granted = dedupe(expanded.filter((scope) => allowed.has(scope)))
  const dropped = requested.filter((scope) => scope !== WILDCARD && !allowed.has(scope))
  if (granted.length === 0) return {ok: false, requested: [...requested], grantable, missing}
  return {ok: true, granted, dropped}
}

/**
 * The provisioning ceiling check (server.md section 4): every scope inside the effective ceiling or
 * always allowed; `*` is never allowed. Returns the offending scopes.
 */
export function scopesOutsideProvisioningCeiling({scopes, ceiling}: {scopes: readonly string[]; ceiling: readonly string[]}): string[] {
  const allowed = new Set(grantableScopes(ceiling))
  return scopes.filter((scope) => scope === WILDCARD || !allowed.has(scope))
}

export type NarrowingResult = {ok: true; scopes: string[]; lost: string[]} | {ok: false; lost: string[]}

/**
 * Refresh narrowing (server.md section 3): the refreshed scope keeps the old scopes that are still inside
 * the app's CURRENT ceiling, plus the always-allowed ones it had. An empty ceiling or a `*` token leaves
 * the scope unchanged. "Nothing left" (-> invalid_grant) means every scope that needed the ceiling is gone
 * (a token left with only `openid`/`profile`/... is useless to the API, so it is refused too).
 */
export function narrowOnRefresh({scopes, ceiling}: {scopes: readonly string[]; ceiling: readonly string[]}): NarrowingResult {
  if (isBroadCeiling(ceiling) || scopes.includes(WILDCARD)) return {ok: true, scopes: [...scopes], lost: []}
  const inCeiling = new Set(effectiveCeiling(ceiling))
  const kept = scopes.filter((scope) => inCeiling.has(scope) || isAlwaysAllowed(scope))
  const lost = scopes.filter((scope) => !kept.includes(scope))
  const hadCeilingScopes = scopes.some((scope) => !isAlwaysAllowed(scope))
  const keptCeilingScopes = kept.some((scope) => !isAlwaysAllowed(scope))
  if (kept.length === 0 || (hadCeilingScopes && !keptCeilingScopes)) return {ok: false, lost}
  return {ok: true, scopes: kept, lost}
}

/**
 * Resource scope check (server.md section 3, `/api/users/@me/`): the token holds the scope, `*`, or, for a
 * `:read` requirement, the `:write` half (PostHog's write-implies-read).
 */
export function tokenHasScope(tokenScopes: readonly string[], required: string): boolean {
  if (tokenScopes.includes(WILDCARD) || tokenScopes.includes(required)) return true
  return required.endsWith(':read') && tokenScopes.includes(`${required.slice(0, -':read'.length)}:write`)
}

function dedupe<T>(items: readonly T[]): T[] {
  return [...new Set(items)]
}

/**
 * `X:read` added beside every granted `X:write` that the app may be granted: PostHog's OAuth consent
 * screen emits both for a row at write level (PR #81072). Provisioning grants have no consent screen
 * for new accounts and keep the scopes as requested.
 */
export function withReadHalves(scopes: readonly string[], grantable: readonly string[]): string[] {
  const out = [...scopes]
  for (const scope of scopes) {
    if (!scope.endsWith(':write')) continue
    const read = `${scope.slice(0, -':write'.length)}:read`
    if (!out.includes(read) && grantable.includes(read)) out.splice(out.indexOf(scope), 0, read)
  }
  return out
}
