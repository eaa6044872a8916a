import type {Deps} from '../deps.js'
import {NotLoggedInError} from '../errors.js'
import {REQUIRED_LOGIN_SCOPES} from '../scopes.js'
import {regionOfIssuer, resolveServer, type ServerSelection} from '../server.js'
import {isExpiring, REFRESH_MARGIN_SECONDS, type Session} from '../session/session.js'
import {selectSessions} from './select-sessions.js'
import {envToken} from '../session/store.js'

export interface SessionStatus {
  issuer: string
  host: string
  region: string | null
  client_id: string
  user: Session['user']
  scopes: string[]
  missing_required_scopes: string[]
  expires_at: string | null
  /** valid; expiring (within a minute); expired (a refresh is needed, `onramp token` does it); env (ONRAMP_TOKEN). */
  state: 'valid' | 'expiring' | 'expired' | 'env'
  storage: string
}

export interface StatusResult {
  sessions: SessionStatus[]
}

/** `onramp status`: every stored session (or those of the selected host); exit 3 when there is none. */
export async function status(deps: Deps, selection: ServerSelection): Promise<StatusResult> {
  if (envToken(deps.env)) {
    // ONRAMP_TOKEN is used as-is: we know nothing about it but where it points.
    const server = resolveServer(selection)
    return {
      sessions: [
        {
          issuer: server.issuer, host: new URL(server.issuer).host, region: server.region, client_id: server.clientId ?? '',
          user: null, scopes: [], missing_required_scopes: [], expires_at: null, state: 'env', storage: 'env (ONRAMP_TOKEN)',
        },
      ],
    }
  }
  const {sessions, issuer} = await selectSessions(deps, selection)
  if (sessions.length === 0) {
    throw new NotLoggedInError(issuer ? `Not logged in to ${issuer}.` : 'Not logged in to any host.')
  }
  const now = deps.now()
  return {
    sessions: sessions.map((session) => ({
      issuer: session.issuer,
      host: new URL(session.issuer).host,
      region: session.region ?? regionOfIssuer(session.issuer),
      client_id: session.client_id,
      user: session.user,
      scopes: session.scope,
      missing_required_scopes: REQUIRED_LOGIN_SCOPES.filter((scope) => !session.scope.includes(scope)),
      expires_at: session.expires_at,
      state: stateOf(session, now),
      storage: `${session.storage.kind} (${session.storage.location})`, // where THIS session's tokens are
    })),
  }
}

function stateOf(session: Pick<Session, 'expires_at'>, now: Date): SessionStatus['state'] {
  if (session.expires_at && Date.parse(session.expires_at) <= now.getTime()) return 'expired'
  return isExpiring(session, now, REFRESH_MARGIN_SECONDS) ? 'expiring' : 'valid'
}

export function renderStatus(result: StatusResult): string {
  const blocks = result.sessions.map((session) => {
    const who = session.user?.email ?? session.user?.name ?? 'unknown user'
    const lines = [
      `${session.host}${session.region ? ` (${session.region.toUpperCase()})` : ''}`,
      `  Logged in as ${who}`,
      `  Client:   ${session.client_id || '-'}`,
      `  Scopes:   ${session.scopes.join(' ') || '-'}`,
    ]
    if (session.missing_required_scopes.length > 0) {
      lines.push(`  MISSING required scopes: ${session.missing_required_scopes.join(', ')} (run onramp login again)`)
    }
    const expiry = session.expires_at ? `${session.state}, access token expires ${session.expires_at}` : session.state
    lines.push(`  Token:    ${expiry}`, `  Stored:   ${session.storage}`)
    return lines.join('\n')
  })
  return blocks.join('\n\n') + '\n'
}
