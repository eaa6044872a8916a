/**
 * `POST /api/agentic/provisioning/account_requests` (server.md 4.2): a new email gets an account and a
 * code at once (`type:"oauth"`); an existing one gets a consent URL (`type:"requires_auth"`). PKCE S256
 * as the wizard sends it (server.md 4.4): the challenge is the public partner's only proof at the token
 * endpoint.
 */
import {isLoopbackHost} from '../select-server.js'
import {randomUUID} from 'node:crypto'

import {UsageError} from '../errors.js'
import {createPkce, type Pkce} from '../oauth/pkce.js'
import type {Logger} from '../log.js'
import {processProvisioningResponse, provisioningUrl, sendProvisioning, type ProvisioningDeps, type ProvisioningRequest} from './api.js'
import {malformedResponse} from './errors.js'

export type Region = 'US' | 'EU'

export interface AccountRequest {
  issuer: string
  clientId: string
  email: string
  name?: string | undefined
  /** The signup plan's scopes: always sent, never empty (an empty list once minted useless tokens, server.md section 5 item 1). */
  scopes: readonly string[]
  region?: Region | undefined
  organizationName?: string | undefined
  /** Reuse on a retry of the same signup; fresh ones are made otherwise. */
  pkce?: Pkce | undefined
  id?: string | undefined
}

export type AccountRequestResult =
  /** A new account: exchange `code` with `pkce.verifier` at the provisioning token endpoint. */
  | {type: 'oauth'; id: string; code: string; pkce: Pkce}
  /** The email has an account: open `url` (consent), accept a callback with this `state`, exchange with `pkce.verifier`. */
  | {type: 'requires_auth'; id: string; url: string; state: string; pkce: Pkce}

export async function requestAccount(deps: ProvisioningDeps, request: AccountRequest): Promise<AccountRequestResult> {
  const prepared = accountRequest(request)
  const response = await sendProvisioning(deps, prepared.request)
  return processAccountRequestResponse(response, {...prepared, issuer: request.issuer, logger: deps.logger, ...(deps.now ? {now: deps.now()} : {})})
}

/** The request half: the body the wizard sends (src/utils/provisioning.ts in PostHog/wizard), with its PKCE pair and id. */
export function accountRequest(request: AccountRequest): {request: ProvisioningRequest; pkce: Pkce; id: string} {
  const {issuer, clientId} = request
  if (request.scopes.length === 0) throw new UsageError('Signup must request its scopes: an empty list would let the server choose them (server.md section 5 item 1).', {code: 'no_scopes'})
  const pkce = request.pkce ?? createPkce()
  // `id` is only echoed, never de-duplicated (server.md 4.2 "Idempotency"): it identifies this attempt in logs.
  const id = request.id ?? randomUUID()
  const configuration: Record<string, unknown> = {region: request.region ?? 'US'}
  if (request.organizationName) configuration.organization_name = request.organizationName
  return {
    pkce,
    id,
    request: {
      step: 'account_requests',
      issuer,
      url: provisioningUrl(issuer, '/api/agentic/provisioning/account_requests'),
      json: {
        client_id: clientId,
        id,
        email: request.email,
        ...(request.name ? {name: request.name} : {}),
        scopes: [...request.scopes],
        code_challenge: pkce.challenge,
        code_challenge_method: 'S256',
        configuration,
      },
      context: {scopes: request.scopes, clientId},
    },
  }
}

/**
 * The processing half. Liberal in what it reads: a 2xx `{type:"error"}` is that error; the consent URL
 * under `requires_auth.url` (ee/api/agentic_provisioning) or `requires_auth.redirect.url` (the
 * `{type:"redirect"}` shape of PostHog's Stripe app and the wizard's tests); unknown fields ignored.
 */
export async function processAccountRequestResponse(
  response: Response,
  {issuer, id, pkce, logger, request, now}: {issuer: string; id: string; pkce: Pkce; logger: Logger; request?: Pick<ProvisioningRequest, 'context'>; now?: Date},
): Promise<AccountRequestResult> {
  const {body, status} = await processProvisioningResponse(response, {step: 'account_requests', issuer, ...(request?.context ? {context: request.context} : {})}, {logger, ...(now ? {now} : {})})
  logger.event('provisioning.account_request', {id, type: typeof body.type === 'string' ? body.type : null}, 'info')
  const answeredId = typeof body.id === 'string' && body.id !== '' ? body.id : id
  const malformed = (expected: string) => malformedResponse({step: 'account_requests', issuer, status, contentType: 'application/json', expected})

  if (body.type === 'oauth') {
    const code = (body.oauth as {code?: unknown} | undefined)?.code
    if (typeof code !== 'string' || code === '') throw malformed('`oauth.code` in a type "oauth" answer')
    return {type: 'oauth', id: answeredId, code, pkce}
  }
  if (body.type === 'requires_auth') {
    const url = consentUrlOf(body.requires_auth)
    const consent = url === undefined ? undefined : parseConsentUrl(url)
    if (!consent) throw malformed('an http(s) `requires_auth.url` carrying a `state` parameter')
    return {type: 'requires_auth', id: answeredId, url: consent.url, state: consent.state, pkce}
  }
  throw malformed('`type` "oauth" or "requires_auth"')
}

function consentUrlOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const {url, redirect} = value as {url?: unknown; redirect?: unknown}
  if (typeof url === 'string') return url
  const nested = redirect !== null && typeof redirect === 'object' ? (redirect as {url?: unknown}).url : undefined
  return typeof nested === 'string' ? nested : undefined
}

/** The consent URL goes to a browser: https (plain http only on loopback hosts), and its `state` is the one the callback must carry. */
function parseConsentUrl(value: string): {url: string; state: string} | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) return undefined
  const state = url.searchParams.get('state')
  return state ? {url: url.toString(), state} : undefined
}
