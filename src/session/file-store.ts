import {promises as fs} from 'node:fs'
import path from 'node:path'

import {StorageUnavailableError, UnexpectedError} from '../errors.js'
import {writeFileAtomic} from '../fs-atomic.js'
import {crypto} from '../lazy-crypto.js'
import {assertPrivateDir, assertPrivateFile, ensurePrivateDir, MAX_STORED_FILE_BYTES} from '../fs-trust.js'
import {withLock, type LockOptions} from './lock.js'
import {findStoredKey, InvalidSessionError, parseSession, sessionKey, type Session, type SessionKey} from './session.js'
import type {RawSessionStore} from './store.js'
import {readVersionedFile} from './versioned-file.js'

/** The format this version reads and writes. */
export const CREDENTIALS_VERSION = 1

/** `{"version":1,"sessions":{"<sessionKey>": Session}}`, kept as read so unknown data survives a rewrite. */
interface CredentialsFile {
  version: number
  sessions: Record<string, unknown>
}

export interface FileStoreOptions {
  /** Usually `<config dir>/credentials.json`. */
  path: string
  lock?: LockOptions
  /** Says that a credentials file readable by others was tightened to 0600 (default: stderr). */
  warn?: (message: string) => void
}

/**
 * Sessions in one JSON file (0600, folder 0700). Writes are read-modify-write under a cross-process
 * lock and land with an atomic rename, so concurrent logins for different hosts both survive and a
 * crash never leaves half a file. Reads take no lock: the rename makes every read see a whole file.
 * A file we cannot read or understand is never rewritten: it may hold the user's only refresh tokens.
 */
export function createFileStore({path: file, lock, warn = (message) => process.stderr.write(`Warning: ${message}\n`)}: FileStoreOptions): RawSessionStore {
  const dir = path.dirname(file)
  const lockPath = `${file}.lock`

  // Reads create nothing (status on a fresh machine leaves no trace); both check the folder and the file are ours.
  const load = async (): Promise<CredentialsFile> => {
    assertPrivateDir(dir)
    if (!assertPrivateFile(file, {onLoosened: warn})) return {version: CREDENTIALS_VERSION, sessions: {}}
    return readCredentials(file)
  }

  const update = async <T>(change: (data: CredentialsFile) => {result: T; write: boolean}): Promise<T> => {
    ensurePrivateDir(dir)
    return withLock(
      lockPath,
      async () => {
        const data = await load() // re-read under the lock: another process may have written since
        const {result, write} = change(data)
        if (write) await writeFileAtomic(file, JSON.stringify(data, null, 2) + '\n')
        return result
      },
      lock,
    )
  }

  return {
    kind: 'file',
    location: file,
    async list() {
      const data = await load()
      return Object.entries(data.sessions).map(([key, value]) => parseEntry(file, key, value))
    },
    async get(key) {
      const data = await load()
      const stored = storedKey(data, sessionKey(key))
      return stored === undefined ? undefined : parseEntry(file, stored, data.sessions[stored])
    },
    async save(session) {
      const clean = parseSession(session) // never persist a malformed session
      await update((data) => {
        const id = sessionKey(clean)
        const stored = storedKey(data, id)
        if (stored !== undefined && stored !== id) delete data.sessions[stored] // moved to its new key
        data.sessions[id] = clean
        return {result: undefined, write: true}
      })
    },
    async replace(session, {ifRefreshToken}) {
      const clean = parseSession(session)
      return update((data) => {
        const id = sessionKey(clean)
        const stored = storedKey(data, id)
        if (stored === undefined) return {result: 'missing' as const, write: false}
        // Compared raw: an entry we cannot parse is not the one the refresh started from.
        const previous = data.sessions[stored] as {refresh_token?: unknown} | null
        if (previous?.refresh_token !== ifRefreshToken) return {result: 'changed' as const, write: false}
        if (stored !== id) delete data.sessions[stored]
        data.sessions[id] = clean
        return {result: 'saved' as const, write: true}
      })
    },
    async checkWritable() {
      await load() // corrupt, foreign or symlinked: stop now, before a browser or a refresh
      ensurePrivateDir(dir)
      await probeWrite(dir)
    },
    async delete(key: SessionKey) {
      const id = sessionKey(key)
      return update((data) => {
        const stored = storedKey(data, id)
        if (stored === undefined) return {result: false, write: false}
        delete data.sessions[stored]
        return {result: true, write: true}
      })
    },
  }
}

/** The key `id`'s session is stored under in the file: its own, or the older `issuer#client_id` it was written with. */
function storedKey(data: CredentialsFile, id: string): string | undefined {
  if (Object.hasOwn(data.sessions, id)) return id
  return findStoredKey(Object.entries(data.sessions), id, (entry) => {
    try {
      return sessionKey(parseSession(entry))
    } catch {
      return undefined // an unreadable entry is reported when it is read, not here
    }
  })
}

/**
 * Missing file = no sessions; anything else unreadable or unexpected stops with credentials_corrupt.
 * Read synchronously, like the checks before it: a small file, and an asynchronous read would start
 * libuv's thread pool (four threads) in every `onramp token`, for nothing else to do meanwhile.
 */
async function readCredentials(file: string): Promise<CredentialsFile> {
  const data = readVersionedFile(file, {
    what: 'credentials file',
    version: CREDENTIALS_VERSION,
    maxBytes: MAX_STORED_FILE_BYTES.sessions,
    sizeFix: `Move it aside (mv "${file}" "${file}.bak") and run onramp login again.`,
    corrupt: (reason, cause) => corrupt(file, reason, cause),
  })
  return data ?? {version: CREDENTIALS_VERSION, sessions: {}}
}

function parseEntry(file: string, key: string, value: unknown): Session {
  try {
    return parseSession(value)
  } catch (error) {
    if (error instanceof InvalidSessionError) throw corrupt(file, `the session "${key}" is invalid (${error.message})`, error)
    throw error
  }
}

function corrupt(file: string, reason: string, cause?: unknown): UnexpectedError {
  return new UnexpectedError(
    `The credentials file ${file} is unusable: ${reason}. onramp has not changed it, so no session is lost. ` +
      `Inspect it, then move it aside (mv "${file}" "${file}.bak") and run onramp login again.`,
    {code: 'credentials_corrupt', ...(cause === undefined ? {} : {cause})},
  )
}

/**
 * Creates and removes a file beside credentials.json: a full disk, a read-only mount or a folder we
 * may not write shows up here, before a refresh token is spent or a browser opens.
 */
async function probeWrite(dir: string): Promise<void> {
  const probe = path.join(dir, `.write-probe.${process.pid}.${crypto().randomBytes(4).toString('hex')}`)
  try {
    const handle = await fs.open(probe, 'wx', 0o600)
    try {
      await handle.writeFile('probe')
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch (error) {
    await fs.rm(probe, {force: true}).catch(() => undefined)
    throw new StorageUnavailableError(
      `Sessions cannot be saved in ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). ` +
        'Free disk space or fix the folder\'s permissions (it must be yours and writable), or set ONRAMP_STORAGE to another backend.',
      {code: 'storage_unwritable', cause: error},
    )
  }
  await fs.rm(probe, {force: true})
}
