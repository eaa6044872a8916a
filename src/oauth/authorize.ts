import * as oidc from 'openid-client'

/**
 * The authorization request (RFC 6749 section 4.1.1) with PKCE S256 (RFC 7636 section 4.2). The
 * verifier stays with the caller for the token exchange; `state` is checked by the loopback listener.
 */
export async function authorizationUrl(
  config: oidc.Configuration,
  {redirectUri, scopes, state, codeVerifier}: {redirectUri: string; scopes: readonly string[]; state: string; codeVerifier: string},
): Promise<URL> {
  return oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: scopes.join(' '),
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    // OIDC Core section 11: offline access must be asked for with prompt=consent, or providers drop it.
    ...(scopes.includes('offline_access') ? {prompt: 'consent'} : {}),
  })
}
