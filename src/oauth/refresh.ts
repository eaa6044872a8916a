import * as oidc from 'openid-client'

import {mapOAuthError} from './errors.js'

/** The refresh request (RFC 6749 section 6). `invalid_grant` maps to SessionExpiredError (exit 5). */
export async function refreshGrant(config: oidc.Configuration, refreshToken: string): Promise<Awaited<ReturnType<typeof oidc.refreshTokenGrant>>> {
  try {
    return await oidc.refreshTokenGrant(config, refreshToken)
  } catch (error) {
    throw mapOAuthError(error, {step: 'refresh', issuer: config.serverMetadata().issuer, clientId: config.clientMetadata().client_id})
  }
}
