import * as oidc from 'openid-client'

import {rememberSecret} from '../redact.js'
import {mapOAuthError} from './errors.js'

/** The refresh request (RFC 6749 section 6). `invalid_grant` maps to SessionExpiredError (exit 5). */
export async function refreshGrant(config: oidc.Configuration, refreshToken: string): Promise<Awaited<ReturnType<typeof oidc.refreshTokenGrant>>> {
  rememberSecret(refreshToken)
  try {
    const tokens = await oidc.refreshTokenGrant(config, refreshToken)
    for (const secret of [tokens.access_token, tokens.refresh_token, tokens.id_token]) rememberSecret(secret)
    return tokens
  } catch (error) {
    throw mapOAuthError(error, {step: 'refresh', issuer: config.serverMetadata().issuer, clientId: config.clientMetadata().client_id})
  }
}
