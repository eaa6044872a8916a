import * as oidc from 'openid-client'

import {rememberSecret} from '../redact.js'
import {mapOAuthError} from './errors.js'

export type TokenResponse = Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>

/**
 * The token request (RFC 6749 section 4.1.3) with the PKCE verifier (RFC 7636 section 4.5). The
 * callback is rebuilt on our own redirect URI, so `redirect_uri` matches the authorization request
 * whatever Host header the browser used; openid-client checks `state` and RFC 9207 `iss` again.
 */
export async function exchangeCode(
  config: oidc.Configuration,
  {redirectUri, callback, codeVerifier, state}: {redirectUri: string; callback: URLSearchParams; codeVerifier: string; state: string},
): Promise<TokenResponse> {
  const currentUrl = new URL(redirectUri)
  for (const [key, value] of callback) currentUrl.searchParams.append(key, value)
  rememberSecret(callback.get('code'))
  try {
    const tokens = await oidc.authorizationCodeGrant(config, currentUrl, {pkceCodeVerifier: codeVerifier, expectedState: state})
    for (const secret of [tokens.access_token, tokens.refresh_token, tokens.id_token]) rememberSecret(secret)
    return tokens
  } catch (error) {
    throw mapOAuthError(error, {step: 'token', issuer: config.serverMetadata().issuer, clientId: config.clientMetadata().client_id})
  }
}
