import type {Deps} from '../deps.js'
import {NotLoggedInError, UsageError} from '../errors.js'
import {NewerFormatError, seal, storeKeyFrom, unseal} from '../session/seal.js'
import {parseSession, sessionKey, type Session} from '../session/session.js'
import type {StorageLocation} from '../session/store.js'
import {selectOneSession, type SelectionFlags} from './select-sessions.js'

/**
 * `onramp sessions export` / `import`: one session moved between stores (a laptop's keychain or file into
 * the Redis a CI fleet shares, or back), sealed with ONRAMP_STORE_KEY like the Redis store itself. The
 * document names the session in clear (issuer, client id, kind: nothing secret); its tokens are sealed,
 * bound to that identity.
 */

export const EXPORT_FORMAT = 'onramp-session-export'
/** The document version this onramp writes and the newest it reads. */
export const EXPORT_VERSION = 1

export interface SessionExport {
  format: typeof EXPORT_FORMAT
  version: number
  identity: string
  issuer: string
  client_id: string
  kind: Session['kind']
  expires_at: string | null
  exported_at: string
  sealed: string
}

export interface ImportResult {
  imported: {issuer: string; client_id: string; kind: Session['kind']; expires_at: string | null}
  storage: StorageLocation
  /** True when a different session with the same identity was overwritten (--force). */
  replaced: boolean
  /** True when the store already held exactly this session: nothing was written. */
  unchanged: boolean
}

const aadOf = (identity: string) => `onramp session export ${identity}`

/** The selected session (chosen like `token` chooses: flags, environment, .onramp.json, default), sealed. */
export async function exportSession(deps: Deps, selection: SelectionFlags): Promise<SessionExport> {
  const key = storeKeyFrom(deps.env) // before any store is opened: a missing key is exit 7 at once
  const {session, issuer} = await selectOneSession(deps, selection)
  if (!session) throw new NotLoggedInError(`No session for ${issuer} to export.`, {nextCommand: 'onramp status'})
  const identity = sessionKey(session)
  deps.logger.event('sessions.export', {issuer: session.issuer, client_id: session.client_id}, 'info')
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    identity,
    issuer: session.issuer,
    client_id: session.client_id,
    kind: session.kind,
    expires_at: session.expires_at,
    exported_at: deps.now().toISOString(),
    sealed: seal(key, JSON.stringify(session), aadOf(identity)),
  }
}

/** Reads an export document into the current store; a different session already there needs `force`. */
export async function importSession(deps: Deps, {text, force}: {text: string; force: boolean}): Promise<ImportResult> {
  const key = storeKeyFrom(deps.env)
  const document = parseDocument(text)
  const session = openDocument(key, document)
  const store = await deps.sessions()
  const existing = await store.get(session)
  const same = existing && existing.access_token === session.access_token && existing.refresh_token === session.refresh_token
  if (existing && !same && !force) {
    throw new UsageError(
      `${store.location} already holds a different session for ${session.issuer} (client ${session.client_id}, obtained ${existing.obtained_at}). ` +
        'Importing would overwrite it: pass --force to replace it (its refresh token is then forgotten here).',
    )
  }
  const imported = {issuer: session.issuer, client_id: session.client_id, kind: session.kind, expires_at: session.expires_at}
  if (same) return {imported, storage: store.describe(), replaced: false, unchanged: true}
  const {storage} = await store.save(session)
  deps.logger.event('sessions.import', {issuer: session.issuer, client_id: session.client_id, replaced: Boolean(existing)}, 'info')
  return {imported, storage, replaced: Boolean(existing), unchanged: false}
}

function parseDocument(text: string): SessionExport {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new UsageError('The input is not an onramp session export (not JSON): pass the file onramp sessions export wrote, or - for stdin.')
  }
  const document = value as Partial<SessionExport> | null
  if (!document || typeof document !== 'object' || document.format !== EXPORT_FORMAT) {
    throw new UsageError(`The input is not an onramp session export (no "format": "${EXPORT_FORMAT}").`)
  }
  if (typeof document.version !== 'number' || !Number.isInteger(document.version) || document.version < 1) throw new UsageError('The session export has no valid "version".')
  if (document.version > EXPORT_VERSION) {
    throw new NewerFormatError(`The session export (document version ${document.version})`, document.version)
  }
  if (typeof document.identity !== 'string' || typeof document.sealed !== 'string') throw new UsageError('The session export lacks "identity" or "sealed".')
  return document as SessionExport
}

function openDocument(key: Buffer, document: SessionExport): Session {
  const plain = unseal(key, document.sealed, aadOf(document.identity), 'the session export')
  let session: Session
  try {
    session = parseSession(JSON.parse(plain))
  } catch (error) {
    throw new UsageError(`The session export opened but holds no valid session (${(error as Error).message}).`)
  }
  if (sessionKey(session) !== document.identity) throw new UsageError('The session export names another session than the one it seals.')
  return session
}
