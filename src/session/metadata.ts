import path from 'node:path'

import {UnexpectedError} from '../errors.js'
import {writeFileAtomic} from '../fs-atomic.js'
import {assertPrivateDir, assertPrivateFile, ensurePrivateDir, MAX_STORED_FILE_BYTES} from '../fs-trust.js'
import {withLock} from './lock.js'
import {InvalidSessionError, parseSession, type Session} from './session.js'
import {readVersionedFile, type VersionedSessionsFile} from './versioned-file.js'

/** Everything about a session but its tokens: what `status` shows without unlocking anything. */
export type SessionMetadata = Omit<Session, 'access_token' | 'refresh_token'> & {kind?: 'oauth' | 'provisioning'}

/** One entry of the metadata file: the metadata plus which backend holds the session's secrets. */
export interface MetadataEntry {
  metadata: SessionMetadata
  secrets: 'keychain'
}

export const METADATA_VERSION = 1

/**
 * `<config dir>/sessions.json` (0600, folder 0700): `{"version":1,"sessions":{"<sessionKey>":{...metadata,
 * "secrets":"keychain"}}}` for sessions whose tokens live in the keychain (gh keeps hosts.yml beside
 * the keyring the same way). Never holds a token. Written like credentials.json: read-modify-write under
 * a lock, atomic rename; an unreadable file is reported, never overwritten.
 */
export function createMetadataFile({path: file}: {path: string}) {
  const dir = path.dirname(file)
  return {
    location: file,
    async read(): Promise<Map<string, MetadataEntry>> {
      // Like credentials.json: a folder or file onramp does not own, or a symlink, is refused, never followed.
      assertPrivateDir(dir)
      return parseFile(file, readMetadata(file))
    },
    async update<T>(change: (entries: Map<string, MetadataEntry>) => {result: T; write: boolean} | Promise<{result: T; write: boolean}>): Promise<T> {
      ensurePrivateDir(dir)
      return withLock(`${file}.lock`, async () => {
        const entries = parseFile(file, readMetadata(file)) // re-read under the lock
        const {result, write} = await change(entries)
        if (write) {
          const sessions = Object.fromEntries([...entries].map(([key, entry]) => [key, {...entry.metadata, secrets: entry.secrets}]))
          await writeFileAtomic(file, JSON.stringify({version: METADATA_VERSION, sessions}, null, 2) + '\n')
        }
        return result
      })
    },
  }
}

export type MetadataFile = ReturnType<typeof createMetadataFile>

/** A session without its tokens (and only known fields: whatever else it carries stays out of the file). */
export function metadataOf(session: Session & {kind?: SessionMetadata['kind']}): SessionMetadata {
  const {access_token: _access, refresh_token: _refresh, ...clean} = parseSession(session)
  return session.kind ? {...clean, kind: session.kind} : clean
}

/** The file as read (undefined when there is none), through the one versioned-file reader. */
function readMetadata(file: string): VersionedSessionsFile | undefined {
  // It holds no secret: a file of ours others may only read is tightened silently; one they can write is refused.
  if (!assertPrivateFile(file)) return undefined
  return readVersionedFile(file, {
    what: 'session metadata file',
    version: METADATA_VERSION,
    maxBytes: MAX_STORED_FILE_BYTES.sessions,
    sizeFix: `Move it aside (mv "${file}" "${file}.bak") and log in again; the tokens in the keychain are found again at the next login.`,
    corrupt: (reason, cause) => corrupt(file, reason, cause),
  })
}

function parseFile(file: string, data: VersionedSessionsFile | undefined): Map<string, MetadataEntry> {
  const entries = new Map<string, MetadataEntry>()
  if (data === undefined) return entries
  for (const [key, value] of Object.entries(data.sessions)) {
    const record = value as Record<string, unknown>
    if (record?.secrets !== 'keychain') throw corrupt(file, `the session "${key}" does not say where its secrets are`)
    try {
      // The session validator, with placeholder tokens: one definition of a valid session.
      const {access_token: _access, refresh_token: _refresh, ...metadata} = parseSession({...record, access_token: '-', refresh_token: null})
      entries.set(key, {metadata, secrets: 'keychain'})
    } catch (error) {
      if (error instanceof InvalidSessionError) throw corrupt(file, `the session "${key}" is invalid (${error.message})`, error)
      throw error
    }
  }
  return entries
}

function corrupt(file: string, reason: string, cause?: unknown): UnexpectedError {
  return new UnexpectedError(
    `The session metadata file ${file} is unusable: ${reason}. onramp has not changed it. Move it aside (mv "${file}" "${file}.bak") and run onramp login again.`,
    {code: 'credentials_corrupt', ...(cause === undefined ? {} : {cause})},
  )
}
