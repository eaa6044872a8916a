import {stripQuery, type Fetch} from '../http.js'
import type {Logger} from '../log.js'
import type {OAuthClient} from './client.js'
import {serverText} from '../terminal-text.js'

export interface SessionUser {
  email?: string
  name?: string
  id?: string
}

/**
 * Who logged in, best effort (never fails a login): the ID token's claims, else OIDC userinfo when
 * `openid` was granted, else PostHog's `GET /api/users/@me/` when `user:read` was granted.
 */
export async function findUser(
  {http, logger}: {http: Fetch; logger: Logger},
  {client, accessToken, idTokenClaims, granted}: {
    client: OAuthClient
    accessToken: string
    idTokenClaims: Record<string, unknown> | undefined
    granted: readonly string[]
  },
): Promise<SessionUser | null> {
  try {
    const fromIdToken = idTokenClaims ? userFromClaims(idTokenClaims) : undefined
    if (fromIdToken?.email) return fromIdToken
    // Many providers keep profile claims out of the ID token when an access token is issued (OIDC Core 5.4).
    if (granted.includes('openid')) {
      const claims = await client.userInfo(accessToken, typeof idTokenClaims?.sub === 'string' ? idTokenClaims.sub : undefined)
      if (claims) return {...fromIdToken, ...userFromClaims(claims)}
    }
    if (fromIdToken) return fromIdToken
    if (granted.includes('user:read')) return (await readMe({http, logger}, {issuer: client.issuer, accessToken})).user
  } catch (error) {
    logger.event('user.lookup_failed', {error: error instanceof Error ? error.message : String(error)}, 'debug')
  }
  return null
}

/**
 * PostHog's `GET /api/users/@me/` with an access token: who it belongs to (login, signup), and whether
 * `user:read` works (a 403 means it was not granted). Never throws: `status` is null when the server
 * could not be reached or redirected elsewhere, `user` null unless it answered 2xx.
 */
export async function readMe(
  ports: {http: Fetch; logger: Logger},
  {issuer, accessToken}: {issuer: string; accessToken: string},
): Promise<{status: number | null; user: SessionUser | null; organizationId: string | null}> {
  const {logger} = ports
  try {
    const response = await getSameOrigin(ports, `${issuer.replace(/\/+$/, '')}/api/users/@me/`, {authorization: `Bearer ${accessToken}`, accept: 'application/json'})
    if (!response) return {status: null, user: null, organizationId: null}
    if (!response.ok) {
      // Not awaited: a cancelled body may never settle (MSW's streams), and nothing waits on it.
      void response.body?.cancel().catch(() => {})
      logger.event('user.lookup_failed', {status: response.status}, 'debug')
      return {status: response.status, user: null, organizationId: null}
    }
    const me = (await response.json()) as {email?: unknown; first_name?: unknown; uuid?: unknown; organization?: {id?: unknown} | null}
    // The organization: signup's account id when the token answer named none.
    const org = me.organization && typeof me.organization === 'object' ? me.organization.id : undefined
    return {status: response.status, user: compact({email: me.email, name: me.first_name, id: me.uuid}), organizationId: typeof org === 'string' && org !== '' ? serverText(org) : null}
  } catch (error) {
    logger.event('user.lookup_failed', {error: error instanceof Error ? error.message : String(error)}, 'debug')
    return {status: null, user: null, organizationId: null}
  }
}

/** Enough for a trailing-slash or login-path hop; a loop or a long chain is not a user. */
const MAX_REDIRECTS = 3

/**
 * The one redirect rule for a GET that carries an access token (`@me` here, userinfo in doctor): redirects
 * are followed only within the same origin (scheme, host and port), because fetch's own following would
 * hand the Bearer header to another host or send it over plain http after an https->http hop.
 * Undefined (logged) when the server redirects elsewhere, or more than a few times.
 */
export async function getSameOrigin({http, logger}: {http: Fetch; logger: Logger}, url: string, headers: Record<string, string>): Promise<Response | undefined> {
  const origin = new URL(url).origin
  let current = url
  for (let hop = 0; ; hop++) {
    const response = await http(current, {headers, redirect: 'manual'})
    const location = response.headers.get('location')
    if (response.status < 300 || response.status >= 400 || !location) return response
    void response.body?.cancel().catch(() => {})
    const next = new URL(location, current)
    if (next.origin !== origin || hop >= MAX_REDIRECTS) {
      logger.event('user.lookup_redirect_refused', {from: stripQuery(current), to: stripQuery(next.href), reason: next.origin !== origin ? 'cross_origin' : 'too_many'}, 'debug')
      return undefined
    }
    current = next.href
  }
}

function userFromClaims(claims: Record<string, unknown>): SessionUser {
  return compact({email: claims.email, name: claims.name ?? claims.preferred_username, id: claims.sub})
}

function compact(fields: Record<string, unknown>): SessionUser {
  const user: SessionUser = {}
  for (const key of ['email', 'name', 'id'] as const) {
    const value = fields[key]
    // Shown in login and status output: a server's escape sequences must not reach the terminal.
    const safe = typeof value === 'string' ? serverText(value) : ''
    if (safe) user[key] = safe
  }
  return user
}
