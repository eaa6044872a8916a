/**
 * The provisioning API answers errors in three envelopes (server.md 4.1 "Error envelopes"):
 *   typed  `{"type":"error","error":{code,message}}`        account_requests, client_registration, limits, the token 429
 *   status `{"status":"error","id":"…","error":{code,message}}`  Bearer resource endpoints, deep_links
 *   oauth  `{"error":"…","error_description":"…"}`           the token endpoint
 * (plus the region proxy's bare `{"error":{code,message}}`). They are read here, in one place, and
 * mapped to one `src/errors.ts` class per exit code, so flows never see an envelope.
 *
 * Exit codes (client.md "Exit codes"):
 *   2 usage      invalid_request and other `invalid_*` validation, expired, no_team, not_found / team_not_found /
 *                invalid_resource_id / a forbidden resource id ("no such project"), project_id_conflict,
 *                a blocklisted email, a client id the provisioning API does not know (401 at account_requests,
 *                invalid_client at the token endpoint)
 *   3 not logged in   invalid_grant at the code exchange (the code expired or was used: start again)
 *   4 scope      invalid_scope; and the app's provisioning refusals (`forbidden` "Account creation is not
 *                enabled", "Resource provisioning not enabled", "Partner is deactivated"): like a scope outside
 *                the ceiling, only the server's admins can fix them, and signup's preflight stops on the same
 *                flags with exit 4 before an account exists (issue 10 item 3), so the server's late refusal
 *                matches the early one.
 *   5 session expired  401 on a Bearer call (ProvisioningTokenRejectedError: `refreshable` says whether one
 *                refresh and retry may help) and invalid_grant at the refresh
 *   6 network    429 (with the time to retry), 5xx, account_creation_failed, credential_rotation_failed,
 *                remove_failed, proxy_failed, temporarily_unavailable, and 2xx bodies that are not what the
 *                spec says (a proxy or captive portal answers like that more often than PostHog does)
 *   1 unexpected anything else (unsupported_grant_type, an unknown code), with the server's words
 */
import {NetworkError, NotLoggedInError, OnrampError, ScopeError, SessionExpiredError, UnexpectedError, UsageError} from '../errors.js'
import type {Logger} from '../log.js'
import {serverText} from '../terminal-text.js'

export type ProvisioningStep =
  | 'client_registration'
  | 'account_requests'
  | 'token_exchange'
  | 'token_refresh'
  | 'introspection'
  | 'project_create'
  | 'project_show'
  | 'project_rotate'
  | 'project_remove'

const BEARER_STEPS: ReadonlySet<ProvisioningStep> = new Set(['project_create', 'project_show', 'project_rotate', 'project_remove'])

const WHAT: Record<ProvisioningStep, string> = {
  client_registration: 'reading the app registration',
  account_requests: 'requesting the account',
  token_exchange: 'exchanging the signup code',
  token_refresh: 'refreshing the provisioning session',
  introspection: 'reading the granted scopes',
  project_create: 'creating the project',
  project_show: 'reading the project',
  project_rotate: 'rotating the project API key',
  project_remove: 'removing the project',
}


export interface ErrorEnvelope {
  shape: 'typed' | 'status' | 'oauth' | 'bare'
  code: string
  /** Server text, already through serverText() (src/terminal-text.ts). */
  message: string
  /** `id` of the status envelope (the resource id, "" on auth errors) or of a typed account_requests error. */
  id?: string
}

/** Reads whichever of the three envelopes the body is in (any endpoint: server versions move them around). */
export function readErrorEnvelope(body: Record<string, unknown>): ErrorEnvelope | undefined {
  const id = typeof body.id === 'string' ? body.id : typeof body.id === 'number' ? String(body.id) : undefined
  const withId = id === undefined ? {} : {id}
  if (typeof body.error === 'string') {
    const description = typeof body.error_description === 'string' ? body.error_description : ''
    return {shape: 'oauth', code: body.error, message: serverText(description), ...withId}
  }
  const inner = body.error
  if (inner !== null && typeof inner === 'object' && typeof (inner as {code?: unknown}).code === 'string') {
    const {code, message} = inner as {code: string; message?: unknown}
    const shape = body.type === 'error' ? 'typed' : body.status === 'error' ? 'status' : 'bare'
    return {shape, code, message: typeof message === 'string' ? serverText(message) : '', ...withId}
  }
  return undefined
}

/**
 * A 401 on a Bearer resource call. `refreshable`: the token is unknown, expired or was rotated away, so
 * one refresh of the provisioning session and one retry may succeed (see withTokenRefresh in ./resources.ts).
 */
export class ProvisioningTokenRejectedError extends SessionExpiredError {
  readonly refreshable: boolean
  constructor(message: string, options: {refreshable: boolean; code?: string; cause?: unknown}) {
    super(message, {code: options.code ?? 'provisioning_token_rejected', nextCommand: 'onramp signup', ...(options.cause === undefined ? {} : {cause: options.cause})})
    this.refreshable = options.refreshable
  }
}

export interface FailureInfo {
  step: ProvisioningStep
  issuer: string
  status: number
  envelope: ErrorEnvelope | undefined
  retryAfterSeconds?: number | undefined
  /** The Retry-After header as sent, to tell an absent one from one onramp could not read. */
  retryAfterHeader?: string | null | undefined
  now: Date
  context?: {scopes?: readonly string[]; resourceId?: string; clientId?: string} | undefined
}

/** One mapping for every provisioning error answer (see the table at the top of this file). */
export function mapProvisioningError(info: FailureInfo, logger: Logger): OnrampError {
  const {step, issuer, status, envelope} = info
  const said = envelope ? `${envelope.code}${envelope.message ? `: ${envelope.message}` : ''}` : `HTTP ${status}`
  const during = `while ${WHAT[step]}`
  const code = envelope?.code

  if (status === 429) return rateLimited(info, said)
  if (code === 'invalid_scope') {
    logger.event(
      'oauth.invalid_scope',
      {
        source: 'provisioning',
        step,
        host: issuer,
        client_id: info.context?.clientId ?? null,
        requested_scopes: info.context?.scopes ?? null,
        // The server names no scopes today ("One or more requested scopes exceed…"); kept for when it does.
        missing_scopes: namedScopes(envelope?.message, info.context?.scopes),
        server_error_description: envelope?.message ?? null,
      },
      'warn',
    )
    const account = step === 'token_exchange' ? ' The account itself exists: once an admin allows the scopes, run onramp signup again with the same email to authorize it.' : ''
    return new ScopeError(
      `${issuer} refused the requested scopes ${during} (${said}). The scopes an app may receive are set by the server's admins: ask them to allow these scopes for this app.${account}`,
    )
  }
  if (status >= 500 || code === 'account_creation_failed' || code === 'credential_rotation_failed' || code === 'remove_failed' || code === 'proxy_failed' || code === 'temporarily_unavailable' || code === 'server_error') {
    const created = code === 'account_creation_failed' ? ' No account was created.' : ''
    return new NetworkError(`${issuer} failed ${during} (${said}).${created} This is a server-side failure: retry in a minute.`, {code: 'server_failed'})
  }
  if (!envelope) {
    return new UnexpectedError(`${issuer} answered HTTP ${status} ${during}, without a provisioning error body (${expectedEnvelope(step)} was expected).`, {code: 'unexpected_response'})
  }

  switch (envelope.code) {
    case 'unauthorized':
      return unauthorized(info, said)
    case 'invalid_client':
      return new UsageError(`${issuer} does not accept this client ${during} (${said}). Check --client-id.`, {code: 'invalid_client'})
    case 'registration_failed':
      return new UsageError(
        `${issuer} does not know this app as a provisioning partner (${said}). Check --client-id; ${issuer.replace(/\/+$/, '')}/api/agentic/provisioning/client_registration names the failed check.`,
        {code: 'registration_failed'},
      )
    case 'forbidden':
      return forbidden(info, said)
    case 'invalid_grant':
      if (step === 'token_refresh') {
        return new SessionExpiredError(`The provisioning session for ${issuer} has expired or was revoked (${said}).`, {
          code: 'invalid_grant',
          nextCommand: 'onramp signup',
        })
      }
      return new NotLoggedInError(`${issuer} refused the signup code (${said}); nothing was stored. Run onramp signup again.`, {code: 'invalid_grant', nextCommand: 'onramp signup'})
    case 'not_found':
    case 'team_not_found':
    case 'invalid_resource_id':
      return noSuchProject(info, said)
    case 'project_id_conflict':
      return new UsageError(
        `The project id${info.context?.resourceId ? ` ${info.context.resourceId}` : ''} is already linked to a project in another organization (${said}). ` +
          'A project id belongs to the first organization that used it: choose another --id.',
        {code: 'project_id_conflict'},
      )
    case 'no_team':
      return new UsageError(`This session has no project (${said}). Pass --id to create one.`, {code: 'no_team'})
    case 'expired':
      return new UsageError(`${issuer} says the account request expired (${said}). Run onramp signup again.`, {code: 'expired'})
    case 'unsupported_grant_type':
      return new UnexpectedError(`${issuer} refused the grant type ${during} (${said}).`, {code: 'unsupported_grant_type'})
    default:
      if (envelope.code === 'invalid_request' || envelope.code.startsWith('invalid_')) {
        return new UsageError(`${issuer} refused the request ${during} (${said}).`, {code: envelope.code})
      }
      return new UnexpectedError(`${issuer} refused the request ${during} (${said}).`, {code: envelope.code})
  }
}

/** The requested scopes a server message names, or null when it names none (unknown, not "none missing"). */
function namedScopes(message: string | undefined, requested: readonly string[] | undefined): string[] | null {
  const named = message && requested ? requested.filter((scope) => message.includes(scope)) : []
  return named.length > 0 ? named : null
}

function rateLimited(info: FailureInfo, said: string): NetworkError {
  const {issuer, step, retryAfterSeconds: seconds, now} = info
  // The code exchange's 429 comes after the code was consumed (server.md 4.2): waiting does not save it.
  const spent = step === 'token_exchange' ? ' The signup code was used up by this attempt; the account exists, so run onramp signup again with the same email after that.' : ''
  if (seconds === undefined) {
    const header = info.retryAfterHeader?.trim()
    const why = header ? `its Retry-After "${serverText(header, 40)}" is neither seconds nor a date` : 'no Retry-After header'
    return new NetworkError(`${issuer} is rate limiting ${WHAT[step]} (${said}) and did not say when to retry (${why}): wait a few minutes, then try again.${spent}`, {
      code: 'rate_limited',
    })
  }
  const at = new Date(now.getTime() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
  return new NetworkError(`${issuer} is rate limiting ${WHAT[step]} (${said}). Retry after ${at} (in ${seconds} s).${spent}`, {code: 'rate_limited'})
}

function unauthorized(info: FailureInfo, said: string): OnrampError {
  const {issuer, step, envelope} = info
  if (!BEARER_STEPS.has(step)) {
    // account_requests / client_registration: the partner itself is not recognised (server.md 4.2 check 2).
    return new UsageError(
      `${issuer} does not accept this app as a provisioning partner (${said}). Check --client-id; ${issuer.replace(/\/+$/, '')}/api/agentic/provisioning/client_registration names the failed check.`,
      {code: 'unauthorized_client'},
    )
  }
  const message = envelope?.message ?? ''
  if (/deactivated/i.test(message)) {
    return new ScopeError(`${issuer} has deactivated provisioning for this app (${said}); only the server's admins can turn it back on.`, {code: 'partner_deactivated'})
  }
  if (/missing bearer/i.test(message)) {
    return new ProvisioningTokenRejectedError(`No provisioning token was sent (${said}). Run onramp signup to get a provisioning session.`, {refreshable: false})
  }
  return new ProvisioningTokenRejectedError(
    `${issuer} refused the provisioning session (${said}). If refreshing does not help, run onramp signup again with the same email to authorize a new one.`,
    {refreshable: true},
  )
}

function forbidden(info: FailureInfo, said: string): OnrampError {
  const {issuer, step, envelope} = info
  const message = envelope?.message ?? ''
  if (step === 'account_requests') {
    if (/email/i.test(message)) return new UsageError(`${issuer} will not create an account for this email address (${said}). Use another email.`, {code: 'email_refused'})
    return new ScopeError(`${issuer} does not let this app create accounts (${said}); only the server's admins can enable it. No account was created.`, {code: 'account_creation_disabled'})
  }
  // A status envelope with a resource id (or the spec's wording) is about that project, not the partner.
  if ((envelope?.id !== undefined && envelope.id !== '') || /not accessible/i.test(message)) return noSuchProject(info, said)
  return new ScopeError(`${issuer} does not let this app provision projects (${said}); only the server's admins can enable it.`, {code: 'provisioning_disabled'})
}

function noSuchProject(info: FailureInfo, said: string): UsageError {
  const id = info.context?.resourceId ?? (info.envelope?.id || undefined)
  const which = id ? ` ${id}` : ''
  return new UsageError(`No such project${which} is reachable with this session (${said}). Check the id: it is the project id that onramp projects create printed.`, {
    code: 'project_not_found',
  })
}

function expectedEnvelope(step: ProvisioningStep): string {
  if (step === 'token_exchange' || step === 'token_refresh' || step === 'introspection') return 'an OAuth error JSON'
  return BEARER_STEPS.has(step) ? 'a status error JSON' : 'a typed error JSON'
}

/** A 2xx whose body is not what server.md describes: exit 6, saying what was expected. */
export function malformedResponse({step, issuer, status, contentType, expected}: {step: ProvisioningStep; issuer: string; status: number; contentType: string | null; expected: string}): NetworkError {
  return new NetworkError(
    `${issuer} answered HTTP ${status} (${contentType ? serverText(contentType) : 'no content type'}) ${`while ${WHAT[step]}`}, but not with ${expected}. A proxy or an outage may be in the way: try again in a minute.`,
    {code: 'malformed_response'},
  )
}
