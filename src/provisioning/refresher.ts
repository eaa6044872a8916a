/**
 * The refresh of a provisioning session (`kind: 'provisioning'`, from `onramp signup`), the refresher
 * flows/refresh.ts calls for that kind (it decides, locks and saves; this only talks to the server):
 * `grant_type=refresh_token` at `{issuer}/api/agentic/oauth/token` (server.md 4.2, rotation with no grace
 * period), then the grant read back, because that token response carries no `scope` and a server whose
 * admins narrowed the app's ceiling narrows the refreshed token silently. Returning the introspected scope
 * lets ensureFresh() warn, naming what was lost.
 */
import type {Deps} from '../deps.js'
import {discover} from '../oauth/discovery.js'
import type {RefreshedTokens} from '../session/freshness.js'
import type {Session} from '../session/session.js'
import {provisioningDeps} from './deps.js'
import {readGrantedScopes} from './introspection.js'
import {refreshProvisioningToken} from './token.js'

export async function refreshProvisioningSession(deps: Deps, session: Session): Promise<RefreshedTokens> {
  const tokens = await refreshProvisioningToken(provisioningDeps(deps), {issuer: session.issuer, refreshToken: session.refresh_token!})
  const refreshed: RefreshedTokens = {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    ...(tokens.expires_in === null ? {} : {expires_in: tokens.expires_in}),
  }
  // The old pair is already dead (no grace period): a failed read-back must not lose the new one.
  try {
    const discovered = await discover(deps, session.issuer)
    const scope = await introspectedScope(deps, {
      issuer: session.issuer,
      clientId: session.client_id,
      accessToken: tokens.access_token,
      introspectionEndpoint: discovered.metadata.introspection_endpoint,
    })
    return scope === undefined ? refreshed : {...refreshed, scope}
  } catch (error) {
    deps.logger.event('refresh.grant_unread', {issuer: session.issuer, error: error instanceof Error ? error.message : String(error)}, 'info')
    return refreshed
  }
}

/**
 * The token's scope string by RFC 7662 introspection when the server offers it; undefined when it does
 * not (nothing is known, so nothing is compared). An inactive answer for a token just minted is "".
 */
export async function introspectedScope(
  deps: Pick<Deps, 'http' | 'logger' | 'now' | 'ui'>,
  {issuer, clientId, accessToken, introspectionEndpoint}: {issuer: string; clientId: string; accessToken: string; introspectionEndpoint: unknown},
): Promise<string | undefined> {
  if (typeof introspectionEndpoint !== 'string' || introspectionEndpoint === '') return undefined
  const read = await readGrantedScopes(provisioningDeps(deps), {issuer, introspectionEndpoint, token: accessToken, clientId})
  return read.active ? read.scopes.join(' ') : ''
}
