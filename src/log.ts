import fs from 'node:fs'
import path from 'node:path'

import {ensurePrivateDir, UntrustedPathError} from './fs-trust.js'
import {redact, redactValue} from './redact.js'
import {serverText} from './terminal-text.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface Logger {
  /**
   * Appends `{"ts","level","event",...fields}` (redacted) to the log file; echoed to stderr with --verbose.
   * `verboseOnly`: only under --verbose, file and stderr alike (events every call would write, such as
   * the account selection: `onramp token` in a script's loop writes nothing).
   */
  event(name: string, fields?: Record<string, unknown>, level?: LogLevel, options?: {echo?: boolean; verboseOnly?: boolean}): void
}

export interface LoggerOptions {
  /** The JSONL file, usually `<state dir>/onramp.log`. */
  file: string
  verbose: boolean
  stderr: {write(chunk: string): unknown}
  now?: () => Date
}

/**
 * A JSONL logger (client.md "Observability"). Synchronous appends: simplest, and lines stay in order
 * even when the process exits right after an event. The file is created lazily (commands that log
 * nothing create nothing), 0600 in a 0700 folder since it describes the user's sessions. Logging is
 * never worth failing a command for: a write error is swallowed, with one note on stderr in verbose mode.
 */
export function createLogger({file, verbose, stderr, now = () => new Date()}: LoggerOptions): Logger {
  let fd: number | undefined
  let reportedFailure = false

  const append = (line: string): void => {
    if (reportedFailure) return
    try {
      fd ??= openLog(file)
      fs.writeSync(fd, line)
    } catch (error) {
      // A planted link or a folder onramp does not own is a security problem: said even without --verbose.
      if (verbose || error instanceof UntrustedPathError) {
        stderr.write(`onramp: could not write the log file ${file}: ${redact(describe(error))}\n`)
      }
      reportedFailure = true
    }
  }

  // `echo: false` for events the user has already been shown (warnings), so --verbose does not say them twice.
  const event: Logger['event'] = (name, fields = {}, level = 'info', {echo = true, verboseOnly = false} = {}) => {
    if (verboseOnly && !verbose) return
    const safe = redactValue(fields) as Record<string, unknown>
    // A field may not overwrite ts/level/event: every line must stay parseable by the same three keys.
    const record = {ts: now().toISOString(), level, event: name, ...withoutReserved(safe)}
    append(JSON.stringify(record) + '\n')
    if (verbose && echo) stderr.write(humanLine(level, name, safe))
  }

  return {event}
}

function withoutReserved(fields: Record<string, unknown>): Record<string, unknown> {
  const {ts: _ts, level: _level, event: _event, ...rest} = fields
  return rest
}

/** `[debug] http.response method=GET status=200`: short enough to scan in a terminal. */
function humanLine(level: LogLevel, name: string, fields: Record<string, unknown>): string {
  const parts = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    // Field values carry server text (URLs, errors, iss): each stays on this one line.
    .map(([key, value]) => `${key}=${serverText(typeof value === 'string' ? value : JSON.stringify(value), 2000)}`)
  return `[${level}] ${serverText(name)} ${parts.join(' ')}`.trimEnd() + '\n'
}

/**
 * Opens the log for appending in a folder onramp owns (created 0700, checked like the credentials'
 * folder: no link, ours, not writable by others), never following a link planted at the file's name
 * (O_NOFOLLOW), and tightens an existing looser file to 0600 through the open descriptor.
 */
function openLog(file: string): number {
  ensurePrivateDir(path.dirname(file))
  const {O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW = 0} = fs.constants
  let fd: number
  try {
    fd = fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new UntrustedPathError(file, 'it is a symbolic link', `onramp never follows links for its own files: remove it (rm "${file}"); onramp writes a new log.`)
    }
    throw error
  }
  if (process.platform === 'win32') return fd // POSIX modes mean little there; ACLs protect the profile.
  const stat = fs.fstatSync(fd)
  if (!stat.isFile() || stat.uid !== process.getuid!()) {
    fs.closeSync(fd)
    throw new UntrustedPathError(file, stat.isFile() ? `it belongs to user id ${stat.uid}, not to you` : 'it is not a regular file', `Move it aside (mv "${file}" "${file}.bak").`)
  }
  if ((stat.mode & 0o777) !== 0o600) fs.fchmodSync(fd, 0o600)
  return fd
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
