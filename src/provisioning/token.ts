/**
 * `POST {issuer}/api/agentic/oauth/token` (server.md 4.2): the signup code exchange and the provisioning
 * refresh. Form-encoded with no client_id: public partners need no client authentication there, PKCE
 * is the proof, and refresh tokens are single-use (server.md 4.2 "Auth"; the wizard sends none, 4.4).
 */
import {rememberSecret} from '../redact.js'
import type {Logger} from '../log.js'
import {callProvisioning, processProvisioningResponse, provisioningUrl, sendProvisioning, type ProvisioningDeps, type ProvisioningRequest} from './api.js'
import {malformedResponse, type ProvisioningStep} from './errors.js'

export interface ProvisioningTeam {
  id: number
  name: string | null
  organization_id: string | null
  organization_name: string | null
}

export interface ProvisioningTokens {
  access_token: string
  refresh_token: string
  /** As the server said it (3600 for partner apps, 31536000 seen elsewhere): never a guessed default; null if absent. */
  expires_in: number | null
}

export interface ProvisioningGrant extends ProvisioningTokens {
  /**
   * The organization, and the projects the token can reach (the signup project first); null when the
   * answer had no `account` (the wizard's schema makes it optional): ask `/api/users/@me/` instead.
   */
  account: {id: string; available_teams: ProvisioningTeam[]} | null
}

export const PROVISIONING_TOKEN_PATH = '/api/agentic/oauth/token'

/** grant_type=authorization_code with the verifier of the account request (RFC 6749 4.1.3, RFC 7636 4.5). */
export async function exchangeProvisioningCode(
  deps: ProvisioningDeps,
  input: {
    issuer: string
    code: string
    verifier: string
    /** For the `oauth.invalid_scope` log line only: the token request itself carries no scopes or client_id. */
    scopes?: readonly string[]
    clientId?: string
  },
): Promise<ProvisioningGrant> {
  const request = codeExchangeRequest(input)
  return processCodeExchangeResponse(await sendProvisioning(deps, request), {issuer: input.issuer, logger: deps.logger, request, ...(deps.now ? {now: deps.now()} : {})})
}

/** The request half: form-encoded, no client_id (public partners authenticate by PKCE alone). */
export function codeExchangeRequest({issuer, code, verifier, scopes, clientId}: {issuer: string; code: string; verifier: string; scopes?: readonly string[]; clientId?: string}): ProvisioningRequest {
  rememberSecret(code)
  return {
    step: 'token_exchange',
    issuer,
    url: provisioningUrl(issuer, PROVISIONING_TOKEN_PATH),
    form: {grant_type: 'authorization_code', code, code_verifier: verifier},
    // The 429 comes after the code is consumed: a retry would only meet invalid_grant.
    retryRateLimited: false,
    context: {...(scopes ? {scopes} : {}), ...(clientId ? {clientId} : {})},
  }
}

/**
 * The processing half: the tokens (stored as soon as they are read: the account exists), and `account`
 * when the answer has one. Unknown fields (`scope`, `issued_at`, `payment_credentials`) are ignored.
 */
export async function processCodeExchangeResponse(
  response: Response,
  {issuer, logger, request, now}: {issuer: string; logger: Logger; request?: Pick<ProvisioningRequest, 'context'>; now?: Date},
): Promise<ProvisioningGrant> {
  const {body, status} = await processProvisioningResponse(response, {step: 'token_exchange', issuer, ...(request?.context ? {context: request.context} : {})}, {logger, ...(now ? {now} : {})})
  const tokens = readTokens(body, {step: 'token_exchange', issuer, status})
  const account = body.account as {id?: unknown; available_teams?: unknown} | undefined | null
  const id = account && typeof account === 'object' ? account.id : undefined
  if ((typeof id !== 'string' || id === '') && typeof id !== 'number') {
    logger.event('provisioning.token_without_account', {issuer}, 'warn')
    return {...tokens, account: null}
  }
  return {...tokens, account: {id: String(id), available_teams: readTeams(account?.available_teams)}}
}

/**
 * grant_type=refresh_token (RFC 6749 section 6). Rotation with NO grace period: the old refresh and access
 * tokens die at once, so the caller must store the new pair before anything else, under its lock; a
 * replay of the old refresh token is `invalid_grant` -> SessionExpiredError (exit 5).
 */
export async function refreshProvisioningToken(deps: ProvisioningDeps, {issuer, refreshToken}: {issuer: string; refreshToken: string}): Promise<ProvisioningTokens> {
  const {body, status} = await callProvisioning(deps, {
    step: 'token_refresh',
    issuer,
    url: provisioningUrl(issuer, PROVISIONING_TOKEN_PATH),
    form: {grant_type: 'refresh_token', refresh_token: refreshToken},
  })
  return readTokens(body, {step: 'token_refresh', issuer, status})
}

function readTokens(body: Record<string, unknown>, where: {step: ProvisioningStep; issuer: string; status: number}): ProvisioningTokens {
  const {access_token, refresh_token, expires_in} = body
  if (typeof access_token !== 'string' || access_token === '' || typeof refresh_token !== 'string' || refresh_token === '') {
    throw malformedResponse({...where, contentType: 'application/json', expected: 'a token response with access_token and refresh_token'})
  }
  const lifetime = typeof expires_in === 'number' ? expires_in : typeof expires_in === 'string' && /^\d+$/.test(expires_in) ? Number(expires_in) : null
  if (lifetime !== null && !(Number.isFinite(lifetime) && lifetime > 0)) {
    throw malformedResponse({...where, contentType: 'application/json', expected: 'a positive expires_in'})
  }
  // Every token the process holds is redacted from its output, whatever its shape.
  rememberSecret(access_token)
  rememberSecret(refresh_token)
  return {access_token, refresh_token, expires_in: lifetime}
}

function readTeams(value: unknown): ProvisioningTeam[] {
  if (!Array.isArray(value)) return []
  return value
    .filter((team): team is Record<string, unknown> => team !== null && typeof team === 'object' && isTeamId((team as {id?: unknown}).id))
    .map((team) => ({
      id: Number(team.id),
      name: typeof team.name === 'string' ? team.name : null,
      organization_id: team.organization_id === undefined || team.organization_id === null ? null : String(team.organization_id),
      organization_name: typeof team.organization_name === 'string' ? team.organization_name : null,
    }))
}

function isTeamId(value: unknown): boolean {
  return (typeof value === 'number' && Number.isInteger(value)) || (typeof value === 'string' && /^\d+$/.test(value))
}
