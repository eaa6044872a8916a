import type {Deps} from '../deps.js'
import {discover} from '../oauth/discovery.js'
import {rememberedClient} from '../oauth/registration.js'
import {SURFACES, type Surface} from '../scopes/constant.js'
import {buildPlan, readCeilingOrWhyNot} from '../scopes/plan.js'
import {planIsViable, type Plan} from '../scopes/preflight.js'
import type {Server, ServerSelection} from '../select-server.js'
import type {SessionInfo} from '../session/store.js'
import {chooseFor, chooseServer} from './select-sessions.js'

export interface SurfaceCheck {
  /** What would be requested after dropping what the server cannot give. */
  request: string[]
  missing_required: string[]
  missing_optional: string[]
  unadvertised_expected: string[]
  /** Scopes the app's ceiling keeps out (required and optional); empty when no ceiling was read. */
  outside_ceiling: string[]
  ok: boolean
}

/**
 * What `scopes --check` reports, also under --json when it exits 4: the report is the answer, so it is
 * printed as-is with `ok: false` rather than replaced by an error document.
 */
export interface ScopeCheckReport {
  issuer: string
  client_id: string | null
  ok: boolean
  /**
   * False when part of the check could not run (no scopes_supported to compare, no ceiling read): `ok` then
   * means only that nothing found would be refused, not that the grant is confirmed. `unconfirmed` says why.
   */
  confirmed: boolean
  /** What could not be checked, one sentence each; empty when confirmed. */
  unconfirmed: string[]
  /** Whether scopes_supported could be compared at all. */
  advertised: 'listed' | 'absent' | 'malformed'
  /** The app's ceiling, or null when the server offers none (or no client id is known). */
  ceiling: string[] | null
  /** `app` (client_registration), `registration` (what RFC 7591 granted onramp's own client), null when none. */
  ceiling_source: 'app' | 'registration' | null
  surfaces: Record<Surface, SurfaceCheck>
}

/**
 * The app a scope check is about (scopes --check, doctor), chosen as `token` chooses: the client id a flag,
 * variable or `.onramp.json` names, else the client onramp registered for itself there (as login's
 * preflight), else the app of `session` (the one `token` would use), so its ceiling is the one checked.
 */
export function withSessionApp(deps: Pick<Deps, 'paths'>, server: Server, session: Pick<SessionInfo, 'issuer' | 'client_id'> | undefined): Server {
  if (server.clientId || !session || session.issuer !== server.issuer) return server
  if (rememberedClient({configDir: deps.paths.config, issuer: server.issuer})) return server
  return {...server, clientId: session.client_id}
}

/** chooseServer, with the app withSessionApp adds; a store that cannot be read leaves the server's choice alone. */
export async function chooseServerAndApp(deps: Deps, selection: ServerSelection): Promise<Server> {
  const {server} = await chooseServer(deps, selection)
  if (server.clientId) return server
  try {
    return withSessionApp(deps, server, (await chooseFor(deps, selection)).choice.session)
  } catch (error) {
    if ((error as {exit?: number}).exit === 2) throw error
    deps.logger.event('selection.sessions_unreadable', {error: error instanceof Error ? error.message : String(error)}, 'debug')
    return server
  }
}

/**
 * `onramp scopes --check`: the scope plan of both surfaces (scopes_supported and the app's ceiling), without
 * logging in; `chosen` is the server (and app) doctor chose already.
 */
export async function checkScopes(deps: Deps, selection: ServerSelection, chosen?: Server): Promise<ScopeCheckReport> {
  const server = chosen ?? (await chooseServerAndApp(deps, selection))
  // Without --client-id on a custom host, login uses the client onramp registered for itself (RFC 7591):
  // its ceiling is what the registration answer granted, as the login preflight checks it.
  const registered = rememberedClient({configDir: deps.paths.config, issuer: server.issuer})
  const discovered = await discover(deps, server.issuer)
  const remembered = !server.clientId || registered?.client_id === server.clientId ? registered : undefined
  const clientId = server.clientId ?? remembered?.client_id
  const read = remembered?.scope ? {scopes: remembered.scope, reason: null} : await readCeilingOrWhyNot(deps, {issuer: server.issuer, clientId})
  const ceiling = read.scopes
  const plans = {} as Record<Surface, Plan>
  for (const surface of SURFACES) plans[surface] = await buildPlan(deps, {surface, discovered, clientId, ceiling})
  const {check} = plans.login
  if (check === 'skipped-malformed') deps.ui.warn(`${server.issuer} sent a malformed scopes_supported; the advertised-scope check is skipped.`)
  if (check === 'skipped-absent') deps.logger.event('preflight.skipped', {issuer: server.issuer, reason: 'scopes_supported absent'}, 'info')
  const surfaces = {} as Record<Surface, SurfaceCheck>
  for (const surface of SURFACES) surfaces[surface] = surfaceCheck(plans[surface])
  const unconfirmed = [
    ...(check === 'skipped-absent' ? [`${server.issuer} does not list scopes_supported, so whether it offers each scope was not checked`] : []),
    ...(check === 'skipped-malformed' ? [`${server.issuer} sent a malformed scopes_supported, so whether it offers each scope was not checked`] : []),
    ...(read.reason ? [`the app's ceiling was not read: ${read.reason}`] : []),
  ]
  return {
    issuer: server.issuer,
    client_id: clientId ?? null,
    ok: SURFACES.every((surface) => surfaces[surface].ok),
    confirmed: unconfirmed.length === 0,
    unconfirmed,
    advertised: check === 'checked' ? 'listed' : check === 'skipped-absent' ? 'absent' : 'malformed',
    ceiling,
    ceiling_source: remembered?.scope ? 'registration' : ceiling ? 'app' : null,
    surfaces,
  }
}

function surfaceCheck(plan: Plan): SurfaceCheck {
  return {
    request: plan.request,
    missing_required: plan.missingRequired,
    missing_optional: plan.missingOptional,
    unadvertised_expected: plan.unadvertisedExpected.map((entry) => entry.scope),
    outside_ceiling: [...plan.outsideCeiling.required, ...plan.outsideCeiling.optional],
    ok: planIsViable(plan),
  }
}
