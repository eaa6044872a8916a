import * as oidc from 'openid-client'

import type {Deps} from '../deps.js'
import {NotLoggedInError, UsageError} from '../errors.js'
import {clientConfiguration, discover} from '../oauth/discovery.js'
import {mapOAuthError} from '../oauth/errors.js'
import {resolveServer, type ServerSelection} from '../server.js'
import type {Session} from '../session/session.js'
import {selectSessions} from './select-sessions.js'

export interface LogoutResult {
  logged_out: {issuer: string; client_id: string; revoked: boolean}[]
}

/**
 * `onramp logout`: revoke the refresh token (RFC 7009, which also ends its access tokens on PostHog),
 * then delete the session. Local deletion always completes, even when revocation fails. With no
 * --host/--region the one host logged in to is chosen; several need a choice, or --all.
 */
export async function logout(deps: Deps, {selection, all}: {selection: ServerSelection; all: boolean}): Promise<LogoutResult> {
  const {store, sessions} = await selectSessions(deps, all ? {} : selection)
  const issuers = [...new Set(sessions.map((session) => session.issuer))]
  if (sessions.length === 0) {
    const where = selection.host || selection.region ? resolveServer(selection).issuer : 'any host'
    throw new NotLoggedInError(`Not logged in to ${where}; nothing to log out.`, {nextCommand: 'onramp status'})
  }
  if (!all && issuers.length > 1) {
    throw new UsageError(`Logged in to several hosts (${issuers.join(', ')}): pass --host or --region to pick one, or --all.`)
  }

  const result: LogoutResult = {logged_out: []}
  for (const session of sessions) {
    const revoked = await revokeSession(deps, session)
    await store.delete(session)
    deps.logger.event('logout', {issuer: session.issuer, client_id: session.client_id, revoked}, 'info')
    result.logged_out.push({issuer: session.issuer, client_id: session.client_id, revoked})
  }
  return result
}

async function revokeSession(deps: Deps, session: Session): Promise<boolean> {
  try {
    const discovered = await discover({http: deps.http, logger: deps.logger, cacheDir: deps.paths.cache, now: deps.now}, session.issuer)
    if (!discovered.metadata.revocation_endpoint) {
      deps.warn(`${session.issuer} has no revocation endpoint; the session is deleted locally only.`)
      return false
    }
    const config = clientConfiguration(discovered, session.client_id, deps.http)
    await oidc.tokenRevocation(config, session.refresh_token ?? session.access_token, {
      token_type_hint: session.refresh_token ? 'refresh_token' : 'access_token',
    })
    return true
  } catch (error) {
    const mapped = mapOAuthError(error, {step: 'revoke', issuer: session.issuer, clientId: session.client_id})
    deps.warn(`Could not revoke the token at ${session.issuer} (${mapped.message}); the session is deleted locally anyway.`)
    return false
  }
}
