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
import {readGrantedScopes, type GrantReadBack} from './introspection.js'
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
    const read = await introspectedGrant(deps, {accessToken: tokens.access_token, introspectionEndpoint: discovered.metadata.introspection_endpoint})
    // Unreadable: nothing is known, so nothing is compared. Inactive, for a token just minted: nothing granted.
    if (read.kind === 'unreadable') {
      deps.logger.event('refresh.grant_unread', {issuer: session.issuer, reason: read.reason}, 'info')
      return refreshed
    }
    return {...refreshed, scope: read.kind === 'active' ? read.scopes.join(' ') : ''}
  } catch (error) {
    deps.logger.event('refresh.grant_unread', {issuer: session.issuer, error: error instanceof Error ? error.message : String(error)}, 'info')
    return refreshed
  }
}

/**
 * The token's grant read back by self-introspection (./introspection.ts); `unreadable`, with the reason,
 * when the server offers no introspection endpoint or will not say.
 */
export async function introspectedGrant(
  deps: Pick<Deps, 'http' | 'logger'>,
  {accessToken, introspectionEndpoint}: {accessToken: string; introspectionEndpoint: unknown},
): Promise<GrantReadBack> {
  if (typeof introspectionEndpoint !== 'string' || introspectionEndpoint === '') return {kind: 'unreadable', reason: 'the server offers no introspection endpoint'}
  return readGrantedScopes(deps, {introspectionEndpoint, token: accessToken})
}
