/**
 * What a token really got, read back by RFC 7662 introspection at the metadata's `introspection_endpoint`.
 * A provisioning token response carries no `scope` (server.md 4.2), so a token minted with too few scopes
 * looks like any other until read back.
 *
 * PostHog (posthog/api/oauth/views.py, OAuthIntrospectTokenView) lets three callers in: the token
 * introspecting itself (`Authorization: Bearer T` with `token=T`), a token holding the `introspection`
 * scope, or a confidential client's credentials. onramp is a public client, so it asks with the token's
 * own Bearer; anything else gets the bare 403. A refusal or a failure is `unreadable`, with the reason:
 * the grant is then not confirmed, never guessed.
 */
import {OnrampError} from '../errors.js'
import type {ProvisioningDeps} from './api.js'

export type GrantReadBack =
  | {
      kind: 'active'
      scopes: string[]
      /** Seconds since the epoch, when the server said. */
      exp: number | null
      /** The projects the token reaches (PostHog's `scoped_teams`), when the server said. */
      scoped_teams: number[] | null
    }
  /** Unknown, expired or revoked (RFC 7662 section 2.2: nothing else is said about an inactive token). */
  | {kind: 'inactive'}
  /** The server would not or could not say: `reason` is for people ("the server refused to read the token back (HTTP 403)"). */
  | {kind: 'unreadable'; reason: string}

/** The request half: self-introspection, the token as its own Bearer (RFC 7662 section 2.1 form body). */
export function introspectionRequest({introspectionEndpoint, token}: {introspectionEndpoint: string; token: string}): {url: string; init: RequestInit} {
  return {
    url: introspectionEndpoint,
    init: {
      method: 'POST',
      headers: {authorization: `Bearer ${token}`, accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded'},
      body: new URLSearchParams({token, token_type_hint: 'access_token'}).toString(),
    },
  }
}

/** The processing half: any Response in, a GrantReadBack out; never throws. */
export async function processIntrospectionResponse(response: Response): Promise<GrantReadBack> {
  const text = await response.text().catch(() => '')
  if (!response.ok) {
    const why = response.status === 401 || response.status === 403 ? 'the server refused to read the token back' : 'the server failed to read the token back'
    return {kind: 'unreadable', reason: `${why} (HTTP ${response.status} from its introspection endpoint)`}
  }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return {kind: 'unreadable', reason: `the introspection endpoint answered HTTP ${response.status} without JSON`}
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return {kind: 'unreadable', reason: 'the introspection endpoint answered without a JSON object'}
  const fields = body as Record<string, unknown>
  if (fields.active !== true) return {kind: 'inactive'}
  if (typeof fields.scope !== 'string') return {kind: 'unreadable', reason: 'the introspection answer has no scope'}
  return {
    kind: 'active',
    // RFC 7662 section 2.2: space-separated, like RFC 6749's scope.
    scopes: fields.scope.split(' ').filter(Boolean),
    exp: typeof fields.exp === 'number' ? fields.exp : null,
    scoped_teams: Array.isArray(fields.scoped_teams) ? fields.scoped_teams.filter((team): team is number => typeof team === 'number') : null,
  }
}

/** Reads the grant of `token` back; a network failure is `unreadable` too (the caller decides what that costs). */
export async function readGrantedScopes(
  deps: Pick<ProvisioningDeps, 'http' | 'logger'>,
  {introspectionEndpoint, token}: {introspectionEndpoint: string; token: string},
): Promise<GrantReadBack> {
  const {url, init} = introspectionRequest({introspectionEndpoint, token})
  let response: Response
  try {
    response = await deps.http(url, init)
  } catch (error) {
    const reason = `the introspection endpoint could not be reached (${error instanceof OnrampError ? error.message : error instanceof Error ? error.message : String(error)})`
    deps.logger.event('grant.readback_failed', {reason}, 'info')
    return {kind: 'unreadable', reason}
  }
  const read = await processIntrospectionResponse(response)
  deps.logger.event('grant.readback', {kind: read.kind, ...(read.kind === 'unreadable' ? {reason: read.reason} : {})}, 'info')
  return read
}
