import {ceilingAdmits} from './ceiling.js'
import {neverAdvertisedReason, REQUEST_TIME_SCOPES, type NeverAdvertisedReason, type Surface} from './constant.js'

/**
 * Preflight (client.md "Checking scopes before asking"): compare what we are about to request with
 * what the server advertises in `scopes_supported` (RFC 8414 section 2, advisory) and with what this
 * app may be granted (its ceiling), before any browser opens or any account is created. Pure.
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
  /** What the server listed in scopes_supported; null when absent or malformed. */
  advertised: string[] | null
  check: 'checked' | 'skipped-absent' | 'skipped-malformed'
  missingRequired: string[]
  /** Optional scopes the server does not advertise: dropped, with a warning. */
  missingOptional: string[]
  /** Not advertised, but servers never advertise these: requested anyway. */
  unadvertisedExpected: {scope: string; reason: NeverAdvertisedReason}[]
  /** The app's ceiling as the server stores it; null when the server offers none (the check was skipped). */
  ceiling: string[] | null
  /** Requested scopes the ceiling keeps out: required ones stop the request, optional ones are dropped. */
  outsideCeiling: {required: string[]; optional: string[]}
}

export function readAdvertisedScopes(metadata: {scopes_supported?: unknown}): AdvertisedScopes {
  const value = metadata.scopes_supported
  if (value === undefined || value === null) return {kind: 'absent'}
  if (!Array.isArray(value) || !value.every((scope) => typeof scope === 'string')) return {kind: 'malformed'}
  return {kind: 'listed', scopes: value}
}

export function preflight(request: ScopeRequest, advertised: AdvertisedScopes, ceiling: readonly string[] | null = null): Plan {
  const required = request.required.filter((scope) => request.scopes.includes(scope))
  const plan: Plan = {
    surface: request.surface,
    request: [...request.scopes],
    required,
    advertised: advertised.kind === 'listed' ? [...advertised.scopes] : null,
    check: advertised.kind === 'listed' ? 'checked' : advertised.kind === 'absent' ? 'skipped-absent' : 'skipped-malformed',
    missingRequired: [],
    missingOptional: [],
    unadvertisedExpected: [],
    ceiling: ceiling ? [...ceiling] : null,
    outsideCeiling: {required: [], optional: []},
  }
  if (advertised.kind === 'listed') {
    const listed = new Set(advertised.scopes)
    for (const scope of request.scopes) {
      if (listed.has(scope) || REQUEST_TIME_SCOPES.includes(scope)) continue
      const reason = neverAdvertisedReason(scope)
      if (reason) plan.unadvertisedExpected.push({scope, reason})
      else if (required.includes(scope)) plan.missingRequired.push(scope)
      else plan.missingOptional.push(scope)
    }
  }
  if (ceiling) {
    for (const scope of request.scopes) {
      if (REQUEST_TIME_SCOPES.includes(scope) || ceilingAdmits(ceiling, scope)) continue
      plan.outsideCeiling[required.includes(scope) ? 'required' : 'optional'].push(scope)
    }
  }
  const dropped = new Set([...plan.missingOptional, ...plan.outsideCeiling.optional])
  plan.request = plan.request.filter((scope) => !dropped.has(scope))
  return plan
}

/** Whether the request can go ahead: no required scope is unadvertised or outside the ceiling. */
export function planIsViable(plan: Pick<Plan, 'missingRequired' | 'outsideCeiling'>): boolean {
  return plan.missingRequired.length === 0 && plan.outsideCeiling.required.length === 0
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

/** Scopes a refresh took away: the refreshed scope is the old one cut down to the app's current ceiling. */
export function lostScopes({before, after}: {before: readonly string[]; after: readonly string[]}): string[] {
  return before.filter((scope) => !after.includes(scope) && !REQUEST_TIME_SCOPES.includes(scope))
}
