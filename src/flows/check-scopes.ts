import type {Deps} from '../deps.js'
import {discover} from '../oauth/discovery.js'
import {ceilingAdmits, preflight, readAdvertisedScopes, type Plan} from '../oauth/preflight.js'
import {renderTable} from '../output.js'
import {readProvisioningCeiling} from '../provisioning/client-registration.js'
import {requiredScopesFor, scopesFor, SURFACES, type Surface} from '../scopes.js'
import {resolveServer, type ServerSelection} from '../server.js'

export interface SurfaceCheck {
  missing_required: string[]
  missing_optional: string[]
  unadvertised_expected: string[]
  outside_ceiling?: string[]
}

export interface ScopeCheckReport {
  issuer: string
  ok: boolean
  /** Whether scopes_supported could be compared at all. */
  advertised: 'listed' | 'absent' | 'malformed'
  /** The provisioning ceiling, or null when the server offers none (or no client id is known). */
  ceiling: string[] | null
  surfaces: {login: SurfaceCheck; signup: SurfaceCheck & {outside_ceiling: string[]}}
}

/** `onramp scopes --check`: the preflight of both surfaces, and the signup ceiling, without logging in. */
export async function checkScopes(deps: Deps, selection: ServerSelection): Promise<ScopeCheckReport> {
  const server = resolveServer(selection)
  const discovered = await discover(deps, server.issuer)
  const advertised = readAdvertisedScopes(discovered.metadata)
  if (advertised.kind === 'malformed') deps.warn(`${server.issuer} sent a malformed scopes_supported; the advertised-scope check is skipped.`)
  if (advertised.kind === 'absent') deps.logger.event('preflight.skipped', {issuer: server.issuer, reason: 'scopes_supported absent'}, 'info')

  const plans = Object.fromEntries(
    SURFACES.map((surface) => [surface, preflight({surface, scopes: scopesFor(surface), required: requiredScopesFor(surface)}, advertised)]),
  ) as Record<Surface, Plan>

  let ceiling: string[] | null = null
  if (server.clientId) {
    const read = await readProvisioningCeiling(deps.http, {issuer: server.issuer, clientId: server.clientId})
    if (read.kind === 'ceiling') ceiling = read.scopes
    else deps.logger.event('preflight.ceiling_unavailable', {issuer: server.issuer, reason: read.reason}, 'info')
  }
  const outsideCeiling = ceiling ? scopesFor('signup').filter((scope) => !ceilingAdmits(ceiling, scope)) : []

  const surfaceCheck = (plan: Plan): SurfaceCheck => ({
    missing_required: plan.missingRequired,
    missing_optional: plan.missingOptional,
    unadvertised_expected: plan.unadvertisedExpected.map((entry) => entry.scope),
  })
  const requiredOutside = outsideCeiling.filter((scope) => requiredScopesFor('signup').includes(scope))
  return {
    issuer: server.issuer,
    ok: plans.login.missingRequired.length === 0 && plans.signup.missingRequired.length === 0 && requiredOutside.length === 0,
    advertised: advertised.kind,
    ceiling,
    surfaces: {login: surfaceCheck(plans.login), signup: {...surfaceCheck(plans.signup), outside_ceiling: outsideCeiling}},
  }
}

export function renderScopeCheck(report: ScopeCheckReport): string {
  const rows: string[][] = []
  for (const surface of SURFACES) {
    const check: SurfaceCheck = report.surfaces[surface]
    for (const scope of scopesFor(surface)) {
      const required = requiredScopesFor(surface).includes(scope)
      let status = 'ok'
      if (check.missing_required.includes(scope)) status = 'MISSING (required): the request would be refused'
      else if (check.missing_optional.includes(scope)) status = 'not advertised: dropped (optional)'
      else if (check.unadvertised_expected.includes(scope)) status = 'not advertised, as expected (privileged or hidden)'
      if (check.outside_ceiling?.includes(scope)) status = `OUTSIDE the app ceiling${required ? ' (required)' : ''}: signup would fail`
      rows.push([surface, scope, required ? 'yes' : '-', status])
    }
  }
  const advertised =
    report.advertised === 'listed' ? '' : `\nThe server ${report.advertised === 'absent' ? 'does not list' : 'sent a malformed'} scopes_supported: advertised scopes were not checked.`
  const ceiling = report.ceiling ? `\nProvisioning ceiling: ${report.ceiling.join(' ') || '(empty: every unprivileged scope)'}` : '\nProvisioning ceiling: not available.'
  const verdict = report.ok
    ? `\nOK: every required scope can be granted by ${report.issuer}.\n`
    : `\nFAILED: required scopes would be refused by ${report.issuer}. The app's allowed scopes are set by the server's admins: ask them to add the missing ones.\n`
  return `Scope check against ${report.issuer}\n\n` + renderTable(['SURFACE', 'SCOPE', 'REQUIRED', 'STATUS'], rows) + advertised + ceiling + verdict
}
