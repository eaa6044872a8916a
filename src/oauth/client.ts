import * as oidc from 'openid-client'

import {UnexpectedError} from '../errors.js'
import type {Fetch} from '../http.js'
import {rememberSecret} from '../redact.js'
import {isLoopbackUrl} from '../select-server.js'
import type {Discovered} from './discovery.js'
import {mapOAuthError, oauthErrorOf, type OAuthStep} from './errors.js'
import type {Pkce} from './pkce.js'

/**
 * The one module over openid-client (protocol steps hide their library): the authorization URL, the code
 * exchange, refresh, revocation and userinfo, with typed results. Flows never import openid-client,
 * and a scope refusal arrives as `ScopeRefusal` instead of an error code string to match.
 */
export interface TokenSet {
  access_token: string
  refresh_token: string | null
  /** Seconds (RFC 6749 section 5.1); undefined when the server did not say. */
  expires_in: number | undefined
  /** The granted scope string; undefined when the response had none (granted as requested, RFC 6749 section 5.1). */
  scope: string | undefined
  idTokenClaims: Record<string, unknown> | undefined
}

/** `invalid_scope` from the token endpoint (RFC 6749 section 5.2): the caller knows what was asked, so it reports it. */
export class ScopeRefusal extends Error {
  readonly serverSaid: string | undefined
  constructor(serverSaid: string | undefined) {
    super(`invalid_scope${serverSaid ? `: ${serverSaid}` : ''}`)
    this.name = 'ScopeRefusal'
    this.serverSaid = serverSaid
  }
}

export interface OAuthClient {
  readonly issuer: string
  readonly clientId: string
  /**
   * The authorization request (RFC 6749 section 4.1.1) with PKCE S256 (RFC 7636 section 4.2), and the
   * OpenID Connect `nonce` (Core 3.1.2.1) when one is given (the flow sends one whenever `openid` is asked for).
   */
  authorizationUrl(request: {redirectUri: string; scopes: readonly string[]; state: string; pkce: Pkce; nonce?: string | undefined}): Promise<URL>
  /**
   * The token request (RFC 6749 section 4.1.3) with the verifier (RFC 7636 section 4.5). The callback is
   * rebuilt on our own redirect URI so `redirect_uri` matches whatever Host the browser used; openid-client
   * checks `state` and RFC 9207 `iss` again. With a `nonce`, an ID token is required and must carry it
   * (OIDC Core 3.1.3.7): one that does not is refused (exit 1, `id_token_invalid`).
   */
  exchangeCode(request: {redirectUri: string; callback: URLSearchParams; codeVerifier: string; state: string; nonce?: string | undefined}): Promise<TokenSet>
  /** The refresh request (RFC 6749 section 6); `invalid_grant` is SessionExpiredError (exit 5). */
  refresh(refreshToken: string): Promise<TokenSet>
  /**
   * Revokes a grant (RFC 7009 section 2.1): the refresh token when there is one (on PostHog that also ends
   * its access tokens), else the access token. False when the server has no revocation endpoint.
   */
  revoke(tokens: {access_token: string; refresh_token: string | null}): Promise<boolean>
  /** OIDC userinfo (OIDC Core 5.3), or undefined when the server has no userinfo endpoint. */
  userInfo(accessToken: string, expectedSubject: string | undefined): Promise<Record<string, unknown> | undefined>
}

export const randomState = (): string => oidc.randomState()
export const randomNonce = (): string => oidc.randomNonce()

export function createOAuthClient({discovered, clientId, http}: {discovered: Discovered; clientId: string; http: Fetch}): OAuthClient {
  const config = new oidc.Configuration(discovered.metadata, clientId, {token_endpoint_auth_method: 'none'}, oidc.None())
  // The OAuth refresh may be sent again (PostHog's OAuth token endpoint keeps the old refresh token valid
  // for a grace period); the code exchange never is: its first attempt may have used the code up.
  config[oidc.customFetch] = ((url: string, options: oidc.CustomFetchOptions) =>
    http(url, {...(options as RequestInit), ...(isRefresh(options.body) ? {retry: 'safe' as const} : {})})) as oidc.CustomFetch
  if (isLoopbackUrl(discovered.issuer)) oidc.allowInsecureRequests(config)
  const issuer = discovered.issuer
  const fail = (step: OAuthStep, error: unknown): never => {
    if (step !== 'revoke' && oauthErrorOf(error)?.error === 'invalid_scope') throw new ScopeRefusal(oauthErrorOf(error)?.description)
    throw mapOAuthError(error, {step, issuer, clientId})
  }

  return {
    issuer,
    clientId,
    async authorizationUrl({redirectUri, scopes, state, pkce, nonce}) {
      return oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: scopes.join(' '),
        state,
        code_challenge: pkce.challenge,
        code_challenge_method: 'S256',
        ...(nonce ? {nonce} : {}),
        // OIDC Core section 11: offline access must be asked for with prompt=consent, or providers drop it.
        ...(scopes.includes('offline_access') ? {prompt: 'consent'} : {}),
      })
    },
    async exchangeCode({redirectUri, callback, codeVerifier, state, nonce}) {
      const currentUrl = new URL(redirectUri)
      for (const [key, value] of callback) currentUrl.searchParams.append(key, value)
      rememberSecret(callback.get('code'))
      try {
        return tokenSet(await oidc.authorizationCodeGrant(config, currentUrl, {pkceCodeVerifier: codeVerifier, expectedState: state, ...(nonce ? {expectedNonce: nonce} : {})}))
      } catch (error) {
        const problem = nonce ? idTokenProblem(error) : undefined
        if (problem) {
          throw new UnexpectedError(`${issuer} ${problem} (OpenID Connect Core 3.1.3.7), so the login was not accepted; nothing was stored.`, {code: 'id_token_invalid', cause: error})
        }
        return fail('token', error)
      }
    },
    async refresh(refreshToken) {
      rememberSecret(refreshToken)
      try {
        return tokenSet(await oidc.refreshTokenGrant(config, refreshToken))
      } catch (error) {
        return fail('refresh', error)
      }
    },
    async revoke(tokens) {
      if (!config.serverMetadata().revocation_endpoint) return false
      const [token, hint] = tokens.refresh_token ? [tokens.refresh_token, 'refresh_token'] : [tokens.access_token, 'access_token']
      try {
        await oidc.tokenRevocation(config, token, {token_type_hint: hint})
        return true
      } catch (error) {
        return fail('revoke', error)
      }
    },
    async userInfo(accessToken, expectedSubject) {
      if (!config.serverMetadata().userinfo_endpoint) return undefined
      return (await oidc.fetchUserInfo(config, accessToken, expectedSubject ?? oidc.skipSubjectCheck)) as Record<string, unknown>
    },
  }
}

/** What was wrong with the ID token of a login that sent a nonce, when that is why openid-client refused it. */
function idTokenProblem(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 6; current = current.cause, depth++) {
    if (/"nonce"/.test(current.message)) return 'sent an ID token without the nonce onramp sent with the authorization request'
    if (/"id_token" property/.test(current.message)) return 'sent no ID token although openid was requested'
  }
  return undefined
}

/** Every token the process holds is redacted from its output, whatever its shape. */
function tokenSet(response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): TokenSet {
  for (const secret of [response.access_token, response.refresh_token, response.id_token]) rememberSecret(secret)
  return {
    access_token: response.access_token,
    refresh_token: response.refresh_token ?? null,
    expires_in: response.expires_in,
    scope: response.scope,
    idTokenClaims: response.claims() as Record<string, unknown> | undefined,
  }
}

/** A token request with grant_type=refresh_token (openid-client sends a URLSearchParams body). */
function isRefresh(body: unknown): boolean {
  const form = body instanceof URLSearchParams ? body : typeof body === 'string' ? new URLSearchParams(body) : undefined
  return form?.get('grant_type') === 'refresh_token'
}
