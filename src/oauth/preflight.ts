import {ALWAYS_ALLOWED_SCOPES, neverAdvertisedReason, REQUEST_TIME_SCOPES, type NeverAdvertisedReason, type Surface} from '../scopes.js'

/**
 * Preflight (client.md "Checking scopes before asking"): compare what we are about to request with
 * what the server advertises in `scopes_supported` (RFC 8414 section 2, advisory), before any browser
 * opens or any account is created. Pure: data in, data out.
 */
export interface ScopeRequest {
  surface: Surface
  scopes: readonly string[]
  required: readonly string[]
}

export type AdvertisedScopes =
  | {kind: 'listed'; scopes: readonly string[]}
  | {kind: 'absent'}
  | {kind: 'malformed'}

export interface Plan {
  surface: Surface
  /** What will actually be requested: the input minus dropped optional scopes. */
  request: string[]
  required: string[]
  check: 'checked' | 'skipped-absent' | 'skipped-malformed'
  missingRequired: string[]
  /** Optional scopes the server does not advertise: dropped, with a warning. */
  missingOptional: string[]
  /** Not advertised, but servers never advertise these: requested anyway. */
  unadvertisedExpected: {scope: string; reason: NeverAdvertisedReason}[]
}

export function readAdvertisedScopes(metadata: {scopes_supported?: unknown}): AdvertisedScopes {
  const value = metadata.scopes_supported
  if (value === undefined || value === null) return {kind: 'absent'}
  if (!Array.isArray(value) || !value.every((scope) => typeof scope === 'string')) return {kind: 'malformed'}
  return {kind: 'listed', scopes: value}
}

export function preflight(request: ScopeRequest, advertised: AdvertisedScopes): Plan {
  const plan: Plan = {
    surface: request.surface,
    request: [...request.scopes],
    required: request.required.filter((scope) => request.scopes.includes(scope)),
    check: 'checked',
    missingRequired: [],
    missingOptional: [],
    unadvertisedExpected: [],
  }
  if (advertised.kind !== 'listed') {
    plan.check = advertised.kind === 'absent' ? 'skipped-absent' : 'skipped-malformed'
    return plan
  }
  const listed = new Set(advertised.scopes)
  for (const scope of request.scopes) {
    if (listed.has(scope) || REQUEST_TIME_SCOPES.includes(scope)) continue
    const reason = neverAdvertisedReason(scope)
    if (reason) plan.unadvertisedExpected.push({scope, reason})
    else if (request.required.includes(scope)) plan.missingRequired.push(scope)
    else plan.missingOptional.push(scope)
  }
  plan.request = plan.request.filter((scope) => !plan.missingOptional.includes(scope))
  return plan
}

export interface GrantComparison {
  granted: string[]
  missingRequired: string[]
  missingOptional: string[]
  /** True when the response carried no `scope`: RFC 6749 5.1 says it was granted as requested. */
  assumed: boolean
}

/**
 * After the token arrives: what of the request was not granted. A response without `scope`
 * counts as granted-as-requested; request-time scopes are never counted missing.
 */
export function compareGrant(plan: Pick<Plan, 'request' | 'required'>, grantedScope: string | undefined): GrantComparison {
  if (grantedScope === undefined) {
    return {granted: [...plan.request], missingRequired: [], missingOptional: [], assumed: true}
  }
  const granted = [...new Set(grantedScope.split(/\s+/).filter(Boolean))]
  const missing = plan.request.filter((scope) => !granted.includes(scope) && !REQUEST_TIME_SCOPES.includes(scope))
  return {
    granted,
    missingRequired: missing.filter((scope) => plan.required.includes(scope)),
    missingOptional: missing.filter((scope) => !plan.required.includes(scope)),
    assumed: false,
  }
}

/** Scopes a refresh took away (server.md 3, "refresh narrowing"). */
export function lostScopes(before: readonly string[], after: readonly string[]): string[] {
  return before.filter((scope) => !after.includes(scope) && !REQUEST_TIME_SCOPES.includes(scope))
}

/**
 * Whether an app's ceiling admits a scope, as the server evaluates it (server.md section 2):
 * empty -> every unprivileged scope; `@default` -> unprivileged plus the listed ones; otherwise
 * exhaustive, a `:write` entry also admitting its `:read` half. `*` is never granted by provisioning.
 */
export function ceilingAdmits(ceiling: readonly string[], scope: string): boolean {
  if (ALWAYS_ALLOWED_SCOPES.includes(scope)) return true
  if (scope === '*') return false
  if (ceiling.includes(scope)) return true
  const [object, action] = scope.split(':')
  if (action === 'read' && ceiling.includes(`${object}:write`)) return true
  const broad = ceiling.length === 0 || ceiling.includes('@default')
  return broad && neverAdvertisedReason(scope) === undefined
}
