/**
 * Codes and tokens: generation in PostHog's formats, PKCE, issuing, rotation and revocation
 * (server.md sections 3 and 4). Pure state operations; the HTTP handlers decide what to answer.
 */
import {createHash, randomInt, randomUUID} from 'node:crypto'

import type {AccessToken, AuthCode, MockState, RefreshToken, Surface} from './state.js'

/** Digits and letters without the look-alikes `0 1 O I l` (server.md section 3). */
export const TOKEN_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
export const TOKEN_BODY_LENGTH = 44
export const ACCESS_TOKEN_TTL_SECONDS = 3600
export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600
export const CODE_TTL_SECONDS = 300
/** A rotated `/oauth/token` refresh token still works this long (clients that lost the response). */
export const REFRESH_GRACE_SECONDS = 120
export const CONSENT_TTL_SECONDS = 600

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

function randomString(alphabet: string, length: number): string {
  let out = ''
  for (let index = 0; index < length; index++) out += alphabet[randomInt(alphabet.length)]
  return out
}

export function randomAccessToken(): string {
  return `pha_${randomString(TOKEN_ALPHABET, TOKEN_BODY_LENGTH)}`
}

export function randomRefreshToken(): string {
  return `phr_${randomString(TOKEN_ALPHABET, TOKEN_BODY_LENGTH)}`
}

/** A project API key (`phc_`), as handed out by provisioning resources. */
export function randomApiKey(): string {
  return `phc_${randomString(ALPHANUMERIC, 43)}`
}

/** A personal API key (`phx_`), returned only to apps with `issues_personal_api_key`. */
export function randomPersonalApiKey(): string {
  return `phx_${randomString(ALPHANUMERIC, 47)}`
}

/** Authorization codes and client ids are opaque alphanumerics, like django-oauth-toolkit's. */
export function randomCode(): string {
  return randomString(ALPHANUMERIC, 30)
}

export function randomClientId(): string {
  return randomString(ALPHANUMERIC, 40)
}

export function randomState(): string {
  return randomString(ALPHANUMERIC, 32)
}

/** RFC 7636 section 4.2: S256 challenge = BASE64URL(SHA256(verifier)). */
export function s256Challenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url')
}

/** RFC 7636 sections 4.1/4.2: 43-128 characters of base64url (PostHog's check on challenges). */
export function isWellFormedPkceValue(value: string): boolean {
  return /^[A-Za-z0-9_-]{43,128}$/.test(value)
}

export function verifierMatches({verifier, challenge}: {verifier: string; challenge: string}): boolean {
  return /^[A-Za-z0-9._~-]{43,128}$/.test(verifier) && s256Challenge(verifier) === challenge
}

export function createCode(
  state: MockState,
  fields: Pick<AuthCode, 'surface' | 'client_id' | 'user_email' | 'scopes'> & Partial<Pick<AuthCode, 'redirect_uri' | 'code_challenge' | 'nonce' | 'scoped_teams'>>,
): AuthCode {
  const code: AuthCode = {
    code: randomCode(),
    redirect_uri: undefined,
    code_challenge: undefined,
    nonce: undefined,
    scoped_teams: undefined,
    ...fields,
    issued_at: state.now(),
    expires_at: state.now() + CODE_TTL_SECONDS * 1000,
    used: false,
  }
  state.codes.set(code.code, code)
  return code
}

/** A code that exists, is unused and younger than 300 s (server.md section 3: single use). */
export function findRedeemableCode(state: MockState, value: string | undefined, surface: Surface): AuthCode | undefined {
  const code = value ? state.codes.get(value) : undefined
  if (!code || code.surface !== surface || code.used || state.now() >= code.expires_at) return undefined
  return code
}

export interface TokenPair {
  access: AccessToken
  refresh: RefreshToken
}

/**
 * Mints an access + refresh token pair; without `family` it starts a new rotation family. The control
 * settings apply here, to both surfaces: `access_token_ttl` (seconds) and `mint_scopes_drop` (scopes the
 * server leaves out although they were asked for and allowed).
 */
export function issueTokenPair(
  state: MockState,
  {
    surface,
    client_id,
    user_email,
    scopes,
    family,
    scoped_teams,
  }: {surface: Surface; client_id: string; user_email: string; scopes: string[]; family?: string; scoped_teams?: number[] | undefined},
): TokenPair {
  const now = state.now()
  const familyId = family ?? randomUUID()
  const minted = scopes.filter((scope) => !state.config.mint_scopes_drop.includes(scope))
  const ttl = state.config.access_token_ttl ?? ACCESS_TOKEN_TTL_SECONDS
  const shared = {surface, family: familyId, client_id, user_email, issued_at: now, scoped_teams: scoped_teams ? [...scoped_teams] : undefined}
  const access: AccessToken = {
    ...shared,
    token: randomAccessToken(),
    scopes: [...minted],
    expires_at: now + ttl * 1000,
    revoked_at: undefined,
  }
  const refresh: RefreshToken = {
    ...shared,
    token: randomRefreshToken(),
    scopes: [...minted],
    scoped_teams: shared.scoped_teams ? [...shared.scoped_teams] : undefined,
    expires_at: now + REFRESH_TOKEN_TTL_SECONDS * 1000,
    access_token: access.token,
    rotated_at: undefined,
    replaced_by: undefined,
    revoked_at: undefined,
  }
  state.accessTokens.set(access.token, access)
  state.refreshTokens.set(refresh.token, refresh)
  return {access, refresh}
}

/**
 * Rotation (server.md section 3): the old refresh token is marked rotated (usable only within the grace
 * period, on `/oauth/token`) and its access token ends, as django-oauth-toolkit's RefreshToken.revoke() does.
 */
export function rotateRefreshToken(state: MockState, old: RefreshToken, scopes: string[]): TokenPair {
  const pair = issueTokenPair(state, {surface: old.surface, client_id: old.client_id, user_email: old.user_email, scopes, family: old.family, scoped_teams: old.scoped_teams})
  old.rotated_at = state.now()
  old.replaced_by = pair.refresh.token
  revokeAccessToken(state, old.access_token)
  return pair
}

/**
 * Provisioning rotation (server.md section 4.2): NO grace period. The old refresh token is revoked and
 * the old access token deleted at once, so it is unknown afterwards ("Invalid access token").
 */
export function rotateProvisioningRefreshToken(state: MockState, old: RefreshToken, scopes: string[]): TokenPair {
  const pair = issueTokenPair(state, {surface: old.surface, client_id: old.client_id, user_email: old.user_email, scopes, family: old.family, scoped_teams: old.scoped_teams})
  old.revoked_at = state.now()
  old.replaced_by = pair.refresh.token
  state.accessTokens.delete(old.access_token)
  return pair
}

export function revokeAccessToken(state: MockState, token: string): boolean {
  const access = state.accessTokens.get(token)
  if (!access || access.revoked_at !== undefined) return false
  access.revoked_at = state.now()
  return true
}

/** Ends a refresh token for good (no grace) and every live access token of its family. */
export function revokeRefreshToken(state: MockState, refresh: RefreshToken): boolean {
  const wasLive = refresh.revoked_at === undefined && refresh.rotated_at === undefined && !state.revokedFamilies.has(refresh.family)
  refresh.revoked_at ??= state.now()
  for (const access of state.accessTokens.values()) if (access.family === refresh.family) revokeAccessToken(state, access.token)
  return wasLive
}

/** Reuse detection: every token of the family dies (server.md section 3). */
/** Every live token and unused code of one (user, application) pair; returns how many tokens were live. */
export function revokeSession(state: MockState, {client_id, user_email}: {client_id: string; user_email: string}): number {
  let live = 0
  for (const access of state.accessTokens.values()) {
    if (access.client_id === client_id && access.user_email === user_email && revokeAccessToken(state, access.token)) live += 1
  }
  for (const refresh of state.refreshTokens.values()) {
    if (refresh.client_id === client_id && refresh.user_email === user_email && revokeRefreshToken(state, refresh)) live += 1
  }
  for (const code of state.codes.values()) if (code.client_id === client_id && code.user_email === user_email) code.used = true
  return live
}

export function revokeFamily(state: MockState, family: string): void {
  state.revokedFamilies.add(family)
  const now = state.now()
  for (const refresh of state.refreshTokens.values()) if (refresh.family === family) refresh.revoked_at ??= now
  for (const access of state.accessTokens.values()) if (access.family === family) access.revoked_at ??= now
}

export type AccessTokenCheck = {ok: true; token: AccessToken} | {ok: false; reason: 'missing' | 'unknown' | 'revoked' | 'expired'}

/** Resolves a Bearer token to a live access token, or says why it is not one. */
export function checkAccessToken(state: MockState, value: string | undefined): AccessTokenCheck {
  if (!value) return {ok: false, reason: 'missing'}
  const token = state.accessTokens.get(value)
  if (!token) return {ok: false, reason: 'unknown'}
  if (token.revoked_at !== undefined || state.revokedFamilies.has(token.family)) return {ok: false, reason: 'revoked'}
  if (state.now() >= token.expires_at) return {ok: false, reason: 'expired'}
  return {ok: true, token}
}

/** `Authorization: Bearer <token>` (RFC 6750 section 2.1). */
export function bearerToken(request: Request): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '')
  return match?.[1]
}

export function secondsLeft(state: MockState, expiresAt: number): number {
  return Math.max(0, Math.round((expiresAt - state.now()) / 1000))
}
