import * as oidc from 'openid-client'

import {mapOAuthError} from './errors.js'

/**
 * Token revocation (RFC 7009 section 2.1). Revoking the refresh token also ends its access tokens on
 * PostHog. Returns false when the server offers no revocation endpoint.
 */
export async function revokeToken(config: oidc.Configuration, {token, hint}: {token: string; hint: 'refresh_token' | 'access_token'}): Promise<boolean> {
  if (!config.serverMetadata().revocation_endpoint) return false
  try {
    await oidc.tokenRevocation(config, token, {token_type_hint: hint})
    return true
  } catch (error) {
    throw mapOAuthError(error, {step: 'revoke', issuer: config.serverMetadata().issuer, clientId: config.clientMetadata().client_id})
  }
}
