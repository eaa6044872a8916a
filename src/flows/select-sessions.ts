import type {Deps} from '../deps.js'
import {resolveServer, type ServerSelection} from '../select-server.js'
import type {Session} from '../session/session.js'
import type {SessionInfo, SessionStore} from '../session/store.js'

/**
 * The sessions a command acts on. With no --host/--region (or their env vars) every stored session
 * is selected; otherwise those of the selected issuer (and of --client-id, when given).
 */
export async function selectSessions(
  deps: Deps,
  selection: ServerSelection,
): Promise<{store: SessionStore; sessions: SessionInfo[]; issuer: string | undefined}> {
  const store = await deps.sessions()
  const all = await store.list()
  if (!selection.host && !selection.region) {
    const sessions = selection.clientId ? all.filter((session) => session.client_id === selection.clientId) : all
    return {store, sessions, issuer: undefined}
  }
  const {issuer} = resolveServer(selection)
  const sessions = all.filter((session) => session.issuer === issuer && (!selection.clientId || session.client_id === selection.clientId))
  return {store, sessions, issuer}
}

/**
 * The one session `token` (and `projects`) uses: the selected issuer's, most recently obtained first. With
 * no --host/--region and sessions on one host only, that host; on several, the default region's. `prefer`
 * picks among the sessions of that kind first (`projects` wants the provisioning session).
 */
export async function selectOneSession(
  deps: Deps,
  selection: ServerSelection,
  {prefer}: {prefer?: SessionInfo['kind']} = {},
): Promise<{store: SessionStore; session: Session | undefined; storage: SessionInfo['storage'] | undefined; issuer: string}> {
  const {store, sessions} = await selectSessions(deps, selection)
  const pick = (pool: SessionInfo[]): {issuer: string; chosen: SessionInfo | undefined} => {
    const issuers = [...new Set(pool.map((session) => session.issuer))]
    const issuer = issuers.length === 1 && !selection.host && !selection.region ? issuers[0]! : resolveServer(selection).issuer
    const chosen = pool.filter((candidate) => candidate.issuer === issuer).sort((a, b) => Date.parse(b.obtained_at) - Date.parse(a.obtained_at))[0]
    return {issuer, chosen}
  }
  let picked = prefer ? pick(sessions.filter((session) => session.kind === prefer)) : {issuer: '', chosen: undefined}
  if (!picked.chosen) picked = pick(sessions)
  const {issuer, chosen} = picked
  // list() holds no tokens: read them (from the keychain, maybe) for the one session used.
  const session = chosen ? await store.get(chosen) : undefined
  return {store, session, storage: chosen?.storage, issuer}
}
