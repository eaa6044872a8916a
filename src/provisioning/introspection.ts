/**
 * What a provisioning token really got. Its token response carries no `scope` (server.md 4.2), so a
 * token minted with too few scopes looks like any other: read it back through RFC 7662 introspection
 * at the metadata's `introspection_endpoint` (server.md section 3), identifying as the public client.
 */
import {callProvisioning, type ProvisioningDeps} from './api.js'

export type GrantedScopes =
  | {
      active: true
      scopes: string[]
      /** Seconds since the epoch, when the server said. */
      exp: number | null
      /** The projects the token reaches (PostHog's `scoped_teams`), when the server said. */
      scoped_teams: number[] | null
    }
  /** Unknown, expired or revoked (RFC 7662 section 2.2: nothing else is said about an inactive token). */
  | {active: false}

export async function readGrantedScopes(
  deps: ProvisioningDeps,
  {issuer, introspectionEndpoint, token, clientId}: {issuer: string; introspectionEndpoint: string; token: string; clientId: string},
): Promise<GrantedScopes> {
  const {body} = await callProvisioning(deps, {
    step: 'introspection',
    issuer,
    url: introspectionEndpoint,
    // RFC 7662 section 2.1; the client_id identifies the (public) caller.
    form: {token, token_type_hint: 'access_token', client_id: clientId},
    apiVersion: false,
    context: {clientId},
  })
  if (body.active !== true) return {active: false}
  return {
    active: true,
    // RFC 7662 section 2.2: space-separated, like RFC 6749's scope.
    scopes: typeof body.scope === 'string' ? body.scope.split(' ').filter(Boolean) : [],
    exp: typeof body.exp === 'number' ? body.exp : null,
    scoped_teams: Array.isArray(body.scoped_teams) ? body.scoped_teams.filter((team): team is number => typeof team === 'number') : null,
  }
}
