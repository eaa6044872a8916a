import type {Deps} from '../deps.js'
import {UsageError} from '../errors.js'
import type {Discovered} from '../oauth/discovery.js'
import {invalidScope} from '../oauth/invalid-scope.js'
import {preflight, readAdvertisedScopes, type Plan} from '../oauth/preflight.js'
import {parseScopeString, requiredScopesFor, scopesFor, type Surface} from '../scopes.js'

/**
 * The preflight of client.md, applied: stop (exit 4, logged) on a required scope the server does not
 * advertise, drop and warn about optional ones, say so when the check cannot run. `override` is
 * --scopes: it replaces the constant's set and every scope in it is required.
 */
export function planScopes(
  deps: Pick<Deps, 'logger' | 'warn'>,
  {surface, discovered, clientId, override}: {surface: Surface; discovered: Discovered; clientId: string; override?: string | undefined},
): Plan {
  const requested = override === undefined ? scopesFor(surface) : parseOverride(override)
  const required = override === undefined ? requiredScopesFor(surface) : requested
  const advertised = readAdvertisedScopes(discovered.metadata)
  const plan = preflight({surface, scopes: requested, required}, advertised)
  const issuer = discovered.issuer
  if (plan.check === 'skipped-absent') deps.logger.event('preflight.skipped', {issuer, reason: 'scopes_supported absent'}, 'info')
  if (plan.check === 'skipped-malformed') deps.warn(`${issuer} sent a malformed scopes_supported; the scope check before ${surface} is skipped.`)
  if (plan.missingRequired.length > 0) {
    throw invalidScope(deps.logger, {
      source: 'preflight', surface, issuer, clientId, requested, required,
      advertised: advertisedList(discovered), missing: plan.missingRequired,
    })
  }
  if (plan.missingOptional.length > 0) {
    deps.warn(`${issuer} does not offer these optional scopes, so they are not requested: ${plan.missingOptional.join(', ')}`)
  }
  return plan
}

export function advertisedList(discovered: Discovered): string[] | null {
  const advertised = readAdvertisedScopes(discovered.metadata)
  return advertised.kind === 'listed' ? [...advertised.scopes] : null
}

/** --scopes: space-separated scope tokens (RFC 6749 section 3.3: printable ASCII but space, `"` and `\`). */
function parseOverride(value: string): string[] {
  const scopes = parseScopeString(value)
  if (scopes.length === 0) throw new UsageError('--scopes is empty: pass space-separated scopes, e.g. --scopes "user:read project:read".')
  const bad = scopes.filter((scope) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope))
  if (bad.length > 0) throw new UsageError(`--scopes has invalid scope tokens (RFC 6749 section 3.3): ${bad.join(', ')}`)
  return scopes
}
