/**
 * One error type per exit code (client.md "Exit codes"). Every message says what to do next;
 * `nextCommand` is the command that fixes it, when there is one.
 */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  notLoggedIn: 3,
  scope: 4,
  sessionExpired: 5,
  network: 6,
  storageUnavailable: 7,
  /** Stopped by Ctrl-C (128 + SIGINT, as shells report it). */
  interrupted: 130,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export interface OnrampErrorOptions {
  /** Stable machine-readable code for `--json` errors, e.g. `invalid_scope`. */
  code: string
  exit: ExitCode
  nextCommand?: string
  cause?: unknown
}

export class OnrampError extends Error {
  readonly code: string
  readonly exit: ExitCode
  readonly nextCommand?: string

  constructor(message: string, options: OnrampErrorOptions) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this.code = options.code
    this.exit = options.exit
    if (options.nextCommand) this.nextCommand = options.nextCommand
  }

  toJSON(): {code: string; message: string; exit: number; next_command?: string} {
    return {
      code: this.code,
      message: this.message,
      exit: this.exit,
      ...(this.nextCommand ? {next_command: this.nextCommand} : {}),
    }
  }
}

type Extra = Partial<Omit<OnrampErrorOptions, 'exit'>>

/**
 * The base of the error class of one exit code: the class fixes `exit`; `code` and `nextCommand` are its
 * defaults, which the thrower's `extra` may replace (`new UsageError(message, {code: 'email_required'})`).
 */
function errorOfExit(exit: ExitCode, defaults: {code: string; nextCommand?: string}) {
  return class extends OnrampError {
    constructor(message: string, extra: Extra = {}) {
      super(message, {...defaults, ...extra, exit})
    }
  }
}

export class UnexpectedError extends errorOfExit(ExitCode.unexpected, {code: 'unexpected'}) {}

export class UsageError extends errorOfExit(ExitCode.usage, {code: 'usage'}) {}

export class NotLoggedInError extends errorOfExit(ExitCode.notLoggedIn, {code: 'not_logged_in', nextCommand: 'onramp login'}) {}

export class ScopeError extends errorOfExit(ExitCode.scope, {code: 'invalid_scope'}) {
  readonly missing: readonly string[]
  constructor(message: string, extra: Extra & {missing?: readonly string[]} = {}) {
    const {missing = [], ...rest} = extra
    super(message, rest)
    this.missing = missing
  }
}

export class SessionExpiredError extends errorOfExit(ExitCode.sessionExpired, {code: 'session_expired', nextCommand: 'onramp login'}) {}

export class NetworkError extends errorOfExit(ExitCode.network, {code: 'network'}) {}

export class StorageUnavailableError extends errorOfExit(ExitCode.storageUnavailable, {code: 'storage_unavailable'}) {}

/** Ctrl-C while waiting for a person (a login in the browser or on another device): nothing was kept. */
export class InterruptedError extends errorOfExit(ExitCode.interrupted, {code: 'interrupted'}) {}

/**
 * A failure after the server created something that stays (an account, a project): the message says what
 * exists, what was kept and the one command that continues; the exit code is its cause's. `unwritten`:
 * --output-env values that could not be written, for the command to show on the terminal only.
 */
export class AccountKeptError extends OnrampError {
  readonly email: string
  readonly unwritten: Record<string, string> | undefined
  constructor(message: string, cause: OnrampError, {email, next, unwritten}: {email: string; next: string; unwritten?: Record<string, string>}) {
    super(message, {code: cause.code, exit: cause.exit, nextCommand: next, cause})
    this.email = email
    this.unwritten = unwritten
  }
}

/** Anything thrown that is not ours becomes exit 1, keeping the original as `cause`. */
export function asOnrampError(error: unknown): OnrampError {
  if (error instanceof OnrampError) return error
  const system = systemError(error)
  if (system) return system
  const message = error instanceof Error ? error.message : String(error)
  return new UnexpectedError(`Unexpected error: ${message}`, {cause: error})
}

/**
 * A file-system or socket error from Node (EACCES on an unwritable config or state folder, a full
 * disk...), said as what happened, where, and what to do, instead of "Unexpected error: EACCES".
 * Exit 1: onramp cannot fix the machine, the message says how the user can.
 */
function systemError(error: unknown): OnrampError | undefined {
  const {code, path: target, syscall, port} = (error ?? {}) as NodeJS.ErrnoException & {port?: number}
  if (code === 'EADDRINUSE' && port !== undefined) {
    return new UnexpectedError(`Port ${port} is already in use. Close the program using it, or pass --port with a free port.`, {code: 'port_in_use', cause: error})
  }
  if (!target) return undefined
  const where = `${syscall ? `${syscall} ` : ''}${target}`
  const elsewhere = 'or point XDG_CONFIG_HOME, XDG_STATE_HOME and XDG_CACHE_HOME at folders you own'
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new UnexpectedError(
        `onramp cannot ${where}: permission denied. Make that folder yours and writable (e.g. chown -R "$USER" and chmod 700 on it), ${elsewhere}.`,
        {code: 'permission_denied', cause: error},
      )
    case 'EROFS':
      return new UnexpectedError(`onramp cannot ${where}: it is on a read-only file system. Run onramp where that folder is writable, ${elsewhere}.`, {
        code: 'read_only_file_system',
        cause: error,
      })
    case 'ENOSPC':
    case 'EDQUOT':
      return new UnexpectedError(`onramp cannot ${where}: the disk (or your quota) is full. Free some space and run the command again.`, {code: 'disk_full', cause: error})
    case 'ENOTDIR':
    case 'EEXIST':
      return new UnexpectedError(`onramp cannot ${where}: a file stands where onramp needs a folder. Move it aside, ${elsewhere}.`, {code: 'path_blocked', cause: error})
    default:
      return undefined
  }
}
