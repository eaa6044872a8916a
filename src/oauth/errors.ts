import * as oidc from 'openid-client'

import {NetworkError, NotLoggedInError, OnrampError, ScopeError, SessionExpiredError, UnexpectedError, UsageError} from '../errors.js'
import {isNetworkFailure, onrampErrorIn, serverUnreachable} from '../http.js'
import {serverText} from '../terminal-text.js'

/**
 * Maps OAuth errors (RFC 6749 sections 4.1.2.1 and 5.2) to client.md's exit codes, with messages
 * that say what to do. `invalid_scope` is built by the caller (it knows the requested scopes).
 */
export type OAuthStep = 'authorize' | 'token' | 'refresh' | 'revoke' | 'register' | 'device'

export interface OAuthErrorInfo {
  error: string
  description?: string | undefined
  status?: number | undefined
}

/** The OAuth error carried by an openid-client exception, if any. */
export function oauthErrorOf(error: unknown): OAuthErrorInfo | undefined {
  if (error instanceof oidc.ResponseBodyError) return {error: error.error, description: error.error_description, status: error.status}
  if (error instanceof oidc.AuthorizationResponseError) return {error: error.error, description: error.error_description}
  return undefined
}

export function mapOAuthError(error: unknown, context: {step: OAuthStep; issuer: string; clientId?: string}): OnrampError {
  // Ours thrown inside openid-client (a body over the size limit) come back wrapped in its errors.
  const ours = onrampErrorIn(error)
  if (ours) return ours
  const info = oauthErrorOf(error)
  if (info) return mapOAuthErrorInfo(info, context, error)
  if (isNetworkFailure(error)) return serverUnreachable(context.issuer, error)
  const status = httpStatusOf(error)
  if (status !== undefined && (status >= 500 || status === 429)) {
    return new NetworkError(`${context.issuer} answered HTTP ${status}; try again in a minute.`, {code: 'server_unavailable', cause: error})
  }
  if (status !== undefined && status >= 400) {
    // An error status without an RFC 6749 error body (a bare 400, an empty 401): said by its status and likely cause.
    if (context.step === 'refresh' && (status === 400 || status === 401)) {
      return new SessionExpiredError(
        `${context.issuer} refused the refresh with HTTP ${status} and no error in the answer: the session has expired or was revoked there.`,
        {cause: error},
      )
    }
    if (context.step === 'revoke') return revokeRefused(context, status, undefined, error)
  }
  // openid-client's ClientError keeps the real detail in `cause`.
  const detail = serverText([error instanceof Error ? error.message : String(error), causeMessage(error)].filter(Boolean).join(': '))
  return new UnexpectedError(`The ${context.step} step failed: ${detail}`, {code: `${context.step}_failed`, cause: error})
}

export function mapOAuthErrorInfo(info: OAuthErrorInfo, context: {step: OAuthStep; issuer: string; clientId?: string}, cause?: unknown): OnrampError {
  // Both come from the server (or the callback): stripped before they reach a terminal.
  const said = info.description ? `${serverText(info.error)}: ${serverText(info.description)}` : serverText(info.error)
  if (context.step === 'revoke' && !(info.status !== undefined && (info.status >= 500 || info.status === 429))) return revokeRefused(context, info.status, said, cause)
  switch (info.error) {
    case 'access_denied':
      return new NotLoggedInError(`Access was denied in the browser (${said}); nothing was stored.`, {code: 'access_denied', cause})
    case 'invalid_scope':
      return new ScopeError(`The server refused the requested scopes (${said}).`, {cause})
    case 'invalid_grant':
      if (context.step === 'refresh') {
        return new SessionExpiredError(`The session for ${context.issuer} has expired or was revoked (${said}).`, {cause})
      }
      return new NotLoggedInError(`The authorization code was refused (${said}); nothing was stored. Run onramp login again.`, {code: 'invalid_grant', cause})
    case 'invalid_client':
    case 'unauthorized_client':
      return new UsageError(
        `The server does not accept client id ${context.clientId ?? '(none)'} (${said}). Check --client-id, or omit it on a server that supports dynamic registration.`,
        {code: info.error, cause},
      )
    case 'temporarily_unavailable':
    case 'server_error':
    case 'slow_down':
      return new NetworkError(`${context.issuer} is unavailable (${said}); try again in a minute.`, {code: 'server_unavailable', cause})
    default:
      if (info.status !== undefined && (info.status >= 500 || info.status === 429)) {
        return new NetworkError(`${context.issuer} answered HTTP ${info.status} (${said}); try again in a minute.`, {code: 'server_unavailable', cause})
      }
      return new UnexpectedError(`The server refused the ${context.step} request (${said}).`, {code: info.error, cause})
  }
}

/**
 * RFC 7009 section 2.2.1: a revocation the server refused, with its status and the likely cause. The
 * session is deleted locally all the same (the caller says so); the grant may stay live on the server.
 */
function revokeRefused(context: {issuer: string; clientId?: string}, status: number | undefined, said: string | undefined, cause: unknown): UnexpectedError {
  const answer = `HTTP ${status ?? '?'}${said ? `, ${said}` : ', no error in the answer'}`
  const likely =
    status === 401 || said?.startsWith('invalid_client')
      ? 'it wants the client to authenticate (a client secret), which onramp, a public client, does not have'
      : status === 403 || said?.startsWith('unauthorized_client')
        ? `it does not let client ${context.clientId ?? '(unknown)'} revoke tokens`
        : status === 404 || status === 405
          ? 'its revocation endpoint does not take this request (check the revocation_endpoint in its metadata)'
          : 'it did not accept the revocation request'
  return new UnexpectedError(
    `${context.issuer} refused to revoke the token (${answer}): ${likely}. To end the grant, revoke onramp's access in the server's account settings.`,
    {code: 'revoke_refused', cause},
  )
}

/** The HTTP status behind an openid-client error: its `cause` (a Response) or the response it carries. */
function httpStatusOf(error: unknown): number | undefined {
  const {cause, response, status} = (error ?? {}) as {cause?: unknown; response?: unknown; status?: unknown}
  if (cause instanceof Response) return cause.status
  if (response instanceof Response) return response.status
  return typeof status === 'number' ? status : undefined
}

function causeMessage(error: unknown): string | undefined {
  const cause = (error as {cause?: unknown})?.cause
  if (cause instanceof Error) return cause.message
  if (typeof cause === 'string') return cause
  return undefined
}
