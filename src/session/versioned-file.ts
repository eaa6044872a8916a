import {readFileSync} from 'node:fs'

import {UnexpectedError} from '../errors.js'
import {assertStoredFileSize} from '../fs-trust.js'

/** `{"version": N, "sessions": {...}, ...}` as read, unknown fields kept so they survive a rewrite. */
export interface VersionedSessionsFile {
  version: number
  sessions: Record<string, unknown>
  [field: string]: unknown
}

export interface VersionedFileRules {
  /** For messages: "credentials file", "session metadata file". */
  what: string
  /** The one format this onramp reads and writes. */
  version: number
  maxBytes: number
  /** What to do about a file over maxBytes. */
  sizeFix: string
  /** The file's own "unusable" error (its code and advice). */
  corrupt: (reason: string, cause?: unknown) => UnexpectedError
}

/**
 * Reads one of onramp's versioned session files (credentials.json, sessions.json): size cap, JSON, an
 * object with this format's `version` and a `sessions` object. Undefined when the file does not exist;
 * anything else unreadable stops with the file's own corrupt error, and a version from another onramp
 * with `credentials_unsupported_version`: never guessed at, never rewritten. Synchronous: a small file, and
 * an asynchronous read would start libuv's thread pool in every `onramp token` for nothing.
 */
export function readVersionedFile(file: string, rules: VersionedFileRules): VersionedSessionsFile | undefined {
  assertStoredFileSize(file, rules.maxBytes, rules.sizeFix)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw rules.corrupt(`it cannot be read: ${(error as Error).message}`, error)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw rules.corrupt('it is not valid JSON', error)
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw rules.corrupt('it is not a JSON object')
  const {version, sessions} = data as Record<string, unknown>
  if (typeof version !== 'number') throw rules.corrupt('it has no "version"')
  if (version !== rules.version) {
    throw new UnexpectedError(
      `The ${rules.what} ${file} has format version ${version}, which this onramp (format ${rules.version}) cannot read; ` +
        'it was probably written by a newer onramp. It was left unchanged: upgrade onramp, or move the file aside and run onramp login.',
      {code: 'credentials_unsupported_version'},
    )
  }
  if (typeof sessions !== 'object' || sessions === null || Array.isArray(sessions)) throw rules.corrupt('"sessions" is not an object')
  return {...(data as Record<string, unknown>), version, sessions: sessions as Record<string, unknown>}
}
