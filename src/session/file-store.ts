import fs from 'node:fs/promises'
import path from 'node:path'

import {ExitCode, OnrampError} from '../errors.js'
import {writeFileAtomic} from '../fs-atomic.js'
import {withLock, type LockOptions} from './lock.js'
import {InvalidSessionError, parseSession, sessionKey, type Session, type SessionKey} from './session.js'
import type {RawSessionStore} from './store.js'

/** The format this version reads and writes. */
export const CREDENTIALS_VERSION = 1

const FILE_MODE = 0o600
const DIR_MODE = 0o700

/** `{"version":1,"sessions":{"<sessionKey>": Session}}`, kept as read so unknown data survives a rewrite. */
interface CredentialsFile {
  version: number
  sessions: Record<string, unknown>
}

export interface FileStoreOptions {
  /** Usually `<config dir>/credentials.json`. */
  path: string
  lock?: LockOptions
}

/**
 * Sessions in one JSON file (0600, folder 0700). Writes are read-modify-write under a cross-process
 * lock and land with an atomic rename, so concurrent logins for different hosts both survive and a
 * crash never leaves half a file. Reads take no lock: the rename makes every read see a whole file.
 * A file we cannot read or understand is never rewritten: it may hold the user's only refresh tokens.
 */
export function createFileStore({path: file, lock}: FileStoreOptions): RawSessionStore {
  const dir = path.dirname(file)
  const lockPath = `${file}.lock`

  // Reads create nothing (status on a fresh machine leaves no trace); both tighten loose modes.
  const load = async (): Promise<CredentialsFile> => {
    await tighten(dir, DIR_MODE)
    return readCredentials(file)
  }

  const update = async <T>(change: (data: CredentialsFile) => {result: T; write: boolean}): Promise<T> => {
    await fs.mkdir(dir, {recursive: true, mode: DIR_MODE})
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
      const id = sessionKey(key)
      return Object.hasOwn(data.sessions, id) ? parseEntry(file, id, data.sessions[id]) : undefined
    },
    async save(session) {
      const clean = parseSession(session) // never persist a malformed session
      await update((data) => {
        data.sessions[sessionKey(clean)] = clean
        return {result: undefined, write: true}
      })
    },
    async delete(key: SessionKey) {
      const id = sessionKey(key)
      return update((data) => {
        if (!Object.hasOwn(data.sessions, id)) return {result: false, write: false}
        delete data.sessions[id]
        return {result: true, write: true}
      })
    },
  }
}

/** Missing file = no sessions; anything else unreadable or unexpected stops with credentials_corrupt. */
async function readCredentials(file: string): Promise<CredentialsFile> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {version: CREDENTIALS_VERSION, sessions: {}}
    throw corrupt(file, `it cannot be read: ${(error as Error).message}`, error)
  }
  await tighten(file, FILE_MODE)
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw corrupt(file, 'it is not valid JSON', error)
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw corrupt(file, 'it is not a JSON object')
  const {version, sessions} = data as Record<string, unknown>
  if (typeof version !== 'number') throw corrupt(file, 'it has no "version"')
  if (version !== CREDENTIALS_VERSION) {
    throw new OnrampError(
      `The credentials file ${file} has format version ${version}, which this onramp (format ${CREDENTIALS_VERSION}) cannot read; ` +
        'it was probably written by a newer onramp. It was left unchanged: upgrade onramp, or move the file aside and run onramp login.',
      {code: 'credentials_unsupported_version', exit: ExitCode.unexpected},
    )
  }
  if (typeof sessions !== 'object' || sessions === null || Array.isArray(sessions)) throw corrupt(file, '"sessions" is not an object')
  return {...(data as Record<string, unknown>), version, sessions: sessions as Record<string, unknown>}
}

function parseEntry(file: string, key: string, value: unknown): Session {
  try {
    return parseSession(value)
  } catch (error) {
    if (error instanceof InvalidSessionError) throw corrupt(file, `the session "${key}" is invalid (${error.message})`, error)
    throw error
  }
}

function corrupt(file: string, reason: string, cause?: unknown): OnrampError {
  return new OnrampError(
    `The credentials file ${file} is unusable: ${reason}. onramp has not changed it, so no session is lost. ` +
      `Inspect it, then move it aside (mv "${file}" "${file}.bak") and run onramp login again.`,
    {code: 'credentials_corrupt', exit: ExitCode.unexpected, ...(cause === undefined ? {} : {cause})},
  )
}

/**
 * Removes group/other permissions a user or an old tool left behind. Best effort (a missing path or
 * a file owned by someone else is not worth failing a read for); POSIX only, Windows uses ACLs.
 */
async function tighten(target: string, mode: number): Promise<void> {
  if (process.platform === 'win32') return
  try {
    const current = (await fs.stat(target)).mode & 0o777
    if ((current & 0o077) !== 0) await fs.chmod(target, mode)
  } catch {
    // see above
  }
}
