import type {Deps} from '../deps.js'
import {UsageError} from '../errors.js'
import type {Discovered} from '../oauth/discovery.js'
import {readAppCeiling} from '../provisioning/app-ceiling.js'
import {parseScopeString, requiredScopesFor, scopesFor, type Surface} from './constant.js'
import {invalidScope} from './invalid-scope.js'
import {planIsViable, preflight, readAdvertisedScopes, type Plan} from './preflight.js'

/**
 * The scope plan, written once for login, signup, `scopes --check` and `doctor`: the constant (or
 * --scopes), checked against `scopes_supported` and the app's ceiling, before anything is requested.
 */
export interface PlanInput {
  surface: Surface
  discovered: Discovered
  /** The app whose ceiling applies; undefined for a client not registered yet (no ceiling to read). */
  clientId: string | undefined
  /** --scopes: replaces the constant's set, and every scope in it is required. */
  override?: string | undefined
  /** The ceiling is what RFC 7591 registration granted onramp's own client: the fix is another --client-id. */
  selfRegistered?: boolean
}

/** The plan, without judging it: for reports (`scopes --check`, `doctor`). Reads the ceiling once when `ceiling` is not given. */
export async function buildPlan(deps: Pick<Deps, 'http' | 'logger'>, input: PlanInput & {ceiling?: string[] | null}): Promise<Plan> {
  const requested = input.override === undefined ? scopesFor(input.surface) : parseOverride(input.override)
  const required = input.override === undefined ? requiredScopesFor(input.surface) : requested
  const ceiling = input.ceiling !== undefined ? input.ceiling : await readCeiling(deps, {issuer: input.discovered.issuer, clientId: input.clientId})
  return preflight({surface: input.surface, scopes: requested, required}, readAdvertisedScopes(input.discovered.metadata), ceiling)
}

/**
 * The preflight applied (client.md "Checking scopes before asking"): stop with exit 4 (logged as
 * `oauth.invalid_scope`) on a required scope that is unadvertised or outside the app's ceiling; drop
 * optional ones with a warning; say so when a check could not run.
 */
export async function planScopes(deps: Pick<Deps, 'http' | 'logger' | 'ui'>, input: PlanInput & {ceiling?: string[] | null}): Promise<Plan> {
  const plan = await buildPlan(deps, input)
  const issuer = input.discovered.issuer
  const clientId = input.clientId ?? '(to be registered)'
  if (plan.check === 'skipped-absent') deps.logger.event('preflight.skipped', {issuer, reason: 'scopes_supported absent'}, 'info')
  if (plan.check === 'skipped-malformed') deps.ui.warn(`${issuer} sent a malformed scopes_supported; the scope check before ${plan.surface} is skipped.`)
  if (!planIsViable(plan)) {
    const unadvertised = plan.missingRequired.length > 0
    throw invalidScope(deps.logger, {
      source: unadvertised ? 'preflight' : 'ceiling',
      surface: plan.surface,
      issuer,
      clientId,
      requested: [...plan.request, ...plan.missingOptional, ...plan.outsideCeiling.optional],
      required: plan.required,
      advertised: plan.advertised,
      ceiling: plan.ceiling,
      missing: unadvertised ? plan.missingRequired : plan.outsideCeiling.required,
      ...(input.selfRegistered && !unadvertised ? {fix: selfRegisteredFix(issuer, clientId, plan.ceiling)} : {}),
    })
  }
  if (plan.missingOptional.length > 0) {
    deps.ui.warn(`${issuer} does not offer these optional scopes, so they are not requested: ${plan.missingOptional.join(', ')}`)
  }
  if (plan.outsideCeiling.optional.length > 0) {
    deps.ui.warn(
      `The app ${clientId} may not be granted these optional scopes (its ceiling, set by the server's admins), so they are not requested: ${plan.outsideCeiling.optional.join(', ')}`,
    )
  }
  return plan
}

/** The fix when the ceiling is that of the client onramp registered for itself (RFC 7591): only another app helps. */
export function selfRegisteredFix(issuer: string, clientId: string, ceiling: readonly string[] | null): string {
  return (
    `onramp registered itself at ${issuer} as client ${clientId} (RFC 7591, no --client-id given), and the server lets a self-registered client ` +
    `have only: ${ceiling && ceiling.length > 0 ? ceiling.join(' ') : '(nothing)'}. Pass --client-id with an app the server's admins registered for these scopes ` +
    '(or set ONRAMP_CLIENT_ID, or "client_id" in .onramp.json), or pass --scopes to request fewer.'
  )
}

/**
 * The app's ceiling from `client_registration`, when the server offers it (PostHog does): null when it
 * does not, or when the answer cannot be read, which skips the ceiling check (said in --verbose).
 */
export async function readCeiling(deps: Pick<Deps, 'http' | 'logger'>, input: {issuer: string; clientId: string | undefined}): Promise<string[] | null> {
  return (await readCeilingOrWhyNot(deps, input)).scopes
}

/** readCeiling, with why there is none (for reports that say what they could not confirm). */
export async function readCeilingOrWhyNot(
  deps: Pick<Deps, 'http' | 'logger'>,
  {issuer, clientId}: {issuer: string; clientId: string | undefined},
): Promise<{scopes: string[]; reason: null} | {scopes: null; reason: string}> {
  if (!clientId) return {scopes: null, reason: 'no client id is known (--client-id, ONRAMP_CLIENT_ID), so the app\'s ceiling cannot be asked for'}
  let reason: string
  try {
    const read = await readAppCeiling(deps, {issuer, clientId})
    if (read.kind === 'ceiling') return {scopes: read.scopes, reason: null}
    reason = read.reason
  } catch (error) {
    reason = error instanceof Error ? error.message : String(error)
  }
  deps.logger.event('preflight.ceiling_skipped', {issuer, client_id: clientId, reason}, 'info')
  return {scopes: null, reason}
}

/** --scopes: space-separated scope tokens (RFC 6749 section 3.3: printable ASCII but space, `"` and `\`). */
function parseOverride(value: string): string[] {
  const scopes = parseScopeString(value)
  if (scopes.length === 0) throw new UsageError('--scopes is empty: pass space-separated scopes, e.g. --scopes "user:read project:read".')
  const bad = scopes.filter((scope) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope))
  if (bad.length > 0) throw new UsageError(`--scopes has invalid scope tokens (RFC 6749 section 3.3): ${bad.join(', ')}`)
  return scopes
}
