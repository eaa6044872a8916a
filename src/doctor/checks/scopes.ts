import {checkScopes, type ScopeCheckReport, type SurfaceCheck} from '../../flows/check-scopes.js'
import {requiredScopesFor, SURFACES, type Surface} from '../../scopes/constant.js'
import {fail, ok, warn, type Check, type CheckResult} from '../types.js'

/**
 * scopes.login and scopes.signup: the preflight of both surfaces against `scopes_supported` and the
 * app's ceiling, exactly as `onramp scopes --check` runs it (the same function, not a copy).
 */
export const checkScopePreflight: Check = async (ctx) => {
  if (!ctx.findings.discovery?.ok) {
    return SURFACES.map((surface) =>
      warn('scope', `scopes.${surface}`, 'not checked: the server did not answer (see server.discovery)', 'fix server.discovery first, then run onramp doctor again'),
    )
  }
  const report = await checkScopes(ctx.deps, ctx.selection, ctx.server)
  return SURFACES.map((surface) => surfaceResult(report, surface))
}

function surfaceResult(report: ScopeCheckReport, surface: Surface): CheckResult {
  const id = `scopes.${surface}`
  const check: SurfaceCheck = report.surfaces[surface]
  const required = requiredScopesFor(surface)
  const outside = check.outside_ceiling ?? []
  const outsideRequired = outside.filter((scope) => required.includes(scope))
  const outsideOptional = outside.filter((scope) => !required.includes(scope))
  const refused = [...new Set([...check.missing_required, ...outsideRequired])]
  if (refused.length > 0) {
    const where = [
      check.missing_required.length > 0 ? `not in scopes_supported: ${check.missing_required.join(', ')}` : '',
      outsideRequired.length > 0 ? `outside the app's ceiling: ${outsideRequired.join(', ')}` : '',
    ].filter(Boolean)
    return fail(
      'scope',
      id,
      `${surface} would be refused by ${report.issuer}: required ${where.join('; ')}`,
      report.ceiling_source === 'registration' && outsideRequired.length > 0
        ? `${report.client_id} is the client onramp registered for itself and may have no more: pass --client-id with an app registered for ${refused.join(', ')} (or set ONRAMP_CLIENT_ID)`
        : `ask the server's admins to add ${refused.join(', ')} to the app's allowed scopes`,
    )
  }
  const dropped = [...new Set([...check.missing_optional, ...outsideOptional])]
  if (dropped.length > 0) {
    return warn(
      'scope',
      id,
      `${surface} works, but drops optional ${dropped.join(', ')} (not advertised or outside the app's ceiling)`,
      `if you need them, ask the server's admins to add ${dropped.join(', ')} to the app's allowed scopes`,
    )
  }
  if (report.advertised === 'malformed') {
    return warn('scope', id, `${report.issuer} sent a malformed scopes_supported: the advertised-scope check was skipped`, "tell the server's admins: scopes_supported must be a list of strings (RFC 8414 section 2)")
  }
  if (!report.confirmed) {
    const noClient = report.client_id === null && report.ceiling === null
    return warn(
      'scope',
      id,
      `nothing found that would refuse ${surface}, but the scope check is NOT confirmed: ${report.unconfirmed.join('; ')}`,
      noClient
        ? "pass --client-id (or set ONRAMP_CLIENT_ID) so the app's ceiling can be read"
        : `nothing to change here if ${surface} works: ${report.issuer} did not say what this app may be granted, so a missing scope would show only when a request is refused (onramp scopes --check --verbose says more)`,
    )
  }
  const basis = [
    report.advertised === 'listed' ? 'scopes_supported' : 'no scopes_supported (not compared)',
    report.ceiling ? "the app's ceiling" : surface === 'signup' ? 'no ceiling offered' : '',
  ].filter(Boolean)
  return ok('scope', id, `every required ${surface} scope can be granted (checked against ${basis.join(' and ')})`)
}
