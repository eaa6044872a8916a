import fs from 'node:fs'

import {ExitCode, OnrampError} from './errors.js'
import {POSIX, trustProblem} from './fs-private.js'

/**
 * "Trust only what is yours" (client.md "Sessions, storage and refresh"): onramp reads back
 * credentials, remembered clients, the discovery cache and locks, so a folder another user can write
 * could point `token_endpoint` elsewhere or swap a session. Every such folder is created 0700 and
 * checked; a symlink, a foreign owner or a folder others can write is refused with the path and the
 * fix, never followed, chmod-ed or trusted. POSIX only: Windows has ACLs and no uid/mode bits.
 *
 * Synchronous on purpose: a few lstat calls, and the discovery cache and remembered clients are read
 * synchronously today.
 */
export class UntrustedPathError extends OnrampError {
  readonly path: string
  constructor(target: string, problem: string, fix: string) {
    super(`Refusing to use ${target}: ${problem}. onramp keeps tokens and server settings there, so it must be yours alone. ${fix}`, {
      code: 'untrusted_path',
      exit: ExitCode.unexpected,
    })
    this.path = target
  }
}

const PRIVATE_DIR_MODE = 0o700
const PRIVATE_FILE_MODE = 0o600

/** Creates `dir` (and missing parents) 0700 if needed, then checks it (assertPrivateDir). */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, {recursive: true, mode: PRIVATE_DIR_MODE})
  assertPrivateDir(dir)
}

/**
 * Refuses a folder that is a symlink, not a folder, owned by someone else, or writable by group or
 * others. A missing folder passes (nothing to trust yet). A folder of ours that others can only read
 * is tightened to 0700 silently: nothing could have been planted through read access.
 */
export function assertPrivateDir(dir: string): void {
  if (!POSIX) return
  const stat = lstat(dir)
  if (!stat) return
  switch (trustProblem(stat, 'folder')) {
    case 'symlink':
      throw new UntrustedPathError(dir, 'it is a symbolic link', `Replace it with a real folder: rm "${dir}" && mkdir -m 700 "${dir}".`)
    case 'not a folder':
      throw new UntrustedPathError(dir, 'it is not a folder', `Move it aside (mv "${dir}" "${dir}.bak"); onramp recreates it.`)
    case 'not ours':
      throw new UntrustedPathError(dir, `it belongs to user id ${stat.uid}, not to you (${process.getuid!()})`, `Move it aside (sudo mv "${dir}" "${dir}.bak"); onramp recreates it.`)
    case 'writable by others':
      throw new UntrustedPathError(
        dir,
        `other users can write into it (mode ${octal(stat.mode)})`,
        `If you trust its contents run chmod 700 "${dir}"; otherwise move it aside (mv "${dir}" "${dir}.bak") and onramp recreates it.`,
      )
  }
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(dir, PRIVATE_DIR_MODE)
}

export interface PrivateFileOptions {
  /**
   * For files holding secrets (credentials.json): a file of ours open to others is tightened to 0600
   * and this says so (the tokens in it may have been read). Without it, a file others can write is
   * refused and one they can only read is tightened silently.
   */
  onLoosened?: (message: string) => void
}

/**
 * Refuses a file that is a symlink, not a regular file or owned by someone else (see options for loose
 * modes). Returns false when it does not exist. Call after assertPrivateDir on its folder.
 */
export function assertPrivateFile(file: string, options: PrivateFileOptions = {}): boolean {
  if (!POSIX) return fs.existsSync(file)
  const stat = lstat(file)
  if (!stat) return false
  const problem = trustProblem(stat, 'file')
  if (problem === 'symlink') {
    throw new UntrustedPathError(file, 'it is a symbolic link', `onramp never follows links for its own files: remove the link (rm "${file}") and log in again, or copy the real file in its place.`)
  }
  if (problem === 'not a file') throw new UntrustedPathError(file, 'it is not a regular file', `Move it aside (mv "${file}" "${file}.bak").`)
  if (problem === 'not ours') {
    throw new UntrustedPathError(file, `it belongs to user id ${stat.uid}, not to you (${process.getuid!()})`, `Move it aside (sudo mv "${file}" "${file}.bak") and log in again.`)
  }
  if ((stat.mode & 0o077) === 0) return true
  if (options.onLoosened) {
    fs.chmodSync(file, PRIVATE_FILE_MODE)
    options.onLoosened(
      `${file} was open to other users (mode ${octal(stat.mode)}); it is now 0600. If others share this machine, run onramp logout and onramp login to replace the tokens it held.`,
    )
    return true
  }
  if (problem === 'writable by others') {
    throw new UntrustedPathError(file, `other users can write it (mode ${octal(stat.mode)})`, `Delete it (rm "${file}"); onramp writes it again.`)
  }
  fs.chmodSync(file, PRIVATE_FILE_MODE) // readable by others only, and holding no secret: nothing planted, just tighten
  return true
}

/**
 * The most onramp reads of a file it keeps. A session is a few KiB and a metadata document under 1 MiB
 * (the HTTP body limit): anything bigger was not written by onramp, and reading it whole (a 400 MB
 * sessions.json) would stall every command.
 */
export const MAX_STORED_FILE_BYTES = {
  /** credentials.json and sessions.json: hundreds of sessions fit. */
  sessions: 4 * 1024 * 1024,
  /** clients.json and one discovery cache entry. */
  small: 1024 * 1024,
} as const

/** A file of onramp's larger than it would ever write: refused, naming the path and the fix. */
export class StoredFileTooLargeError extends OnrampError {
  readonly path: string
  constructor(target: string, size: number, limit: number, fix: string) {
    super(`Refusing to read ${target}: it is ${mib(size)}, more than the ${mib(limit)} onramp ever writes there, so it was not written by onramp (or is damaged). ${fix}`, {
      code: 'stored_file_too_large',
      exit: ExitCode.unexpected,
    })
    this.path = target
  }
}

/** Throws StoredFileTooLargeError when `file` exists and is larger than `limit` bytes (call before reading it). */
export function assertStoredFileSize(file: string, limit: number, fix: string): void {
  const stat = lstat(file)
  if (stat && stat.size > limit) throw new StoredFileTooLargeError(file, stat.size, limit, fix)
}

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB` : `${Math.ceil(bytes / 1024)} KiB`
}

function lstat(target: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(target)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`
}
