import {StorageUnavailableError} from '../../errors.js'

/** The port to the OS keychain, its errors and its deadline. */

/** The keychain service every onramp entry lives under; the account is the session key (issuer + client id). */
export const KEYCHAIN_SERVICE = 'onramp'

/** Default deadline for one keychain call: long enough to type a password into an unlock prompt. */
export const KEYCHAIN_TIMEOUT_MS = 20_000

/**
 * The port to the OS keychain: one string per account under one service. `get` resolves undefined when
 * there is no entry; every failure (no keychain, locked, timed out) rejects with KeychainUnavailableError.
 * Unit tests plug a fake in; the real one is `@napi-rs/keyring` (createNativeBackend).
 */
export interface SecretBackend {
  /** For messages and `storage.location`: "Secret Service", "macOS Keychain", ... */
  readonly name: string
  get(account: string): Promise<string | undefined>
  set(account: string, value: string): Promise<void>
  /** True when an entry was there to delete. */
  delete(account: string): Promise<boolean>
  /**
   * Every entry under the service, account -> value, read in one call that leaves the main thread free
   * (Linux: one D-Bus connection on the thread pool). Absent where the backend has no such call. An
   * account held by several entries is left out (`get` reports it as ambiguous).
   */
  readAll?(): Promise<ReadonlyMap<string, string>>
  /**
   * Linux: `account`'s entry and its parts (account -> value) read over the session bus without the
   * library, in a plain Secret Service session (secret-service.ts); undefined when that read cannot
   * decide. Has its own deadline (rejects only with KeychainUnavailableError, at it). For `get` only.
   */
  readPlain?(account: string): Promise<ReadonlyMap<string, string> | undefined>
}

/** Exit 7: the keychain cannot be used right now. Never means "logged out". */
export class KeychainUnavailableError extends StorageUnavailableError {
  readonly reason: string
  constructor(reason: string, cause?: unknown) {
    super(
      `The OS keychain is unavailable: ${reason}. Unlock or start it and try again, or use ONRAMP_STORAGE=file to keep sessions in a 0600 file.`,
      cause === undefined ? {} : {cause},
    )
    this.reason = reason
  }
}

/** A keychain call cut at its deadline: the backend may still be waiting, so asking again waits again. */
export class KeychainTimeoutError extends KeychainUnavailableError {}

/**
 * Wraps a backend so every call has a deadline and every failure is a KeychainUnavailableError.
 * A locked keyring may wait forever on an unlock prompt nobody sees: the race makes that an error
 * even when the native call ignores the abort signal. A native call already running cannot be
 * cancelled, and Node joins its thread pool at exit: `onDeadline` gets the call when its deadline passes
 * (the native backend counts it until it ends: stuck-exit.ts, whose endIfKeychainStuck the CLI's entry runs).
 */
export function withDeadlines(backend: SecretBackend, {timeoutMs, onDeadline}: {timeoutMs: number; onDeadline?: (running: Promise<unknown>) => void}): SecretBackend {
  const guard = <T>(what: string, call: () => Promise<T>): Promise<T> => {
    const attempt = Promise.resolve()
      .then(call)
      .catch((error: unknown) => {
        if (error instanceof KeychainUnavailableError) throw error
        throw new KeychainUnavailableError(`${backend.name} failed (${what}): ${describeError(error)}`, error)
      })
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        onDeadline?.(attempt)
        reject(new KeychainTimeoutError(`${backend.name} did not answer within ${Math.round(timeoutMs / 1000)} s (${what}; a locked keyring waiting for an unlock prompt?)`))
      }, timeoutMs)
    })
    return Promise.race([attempt, deadline]).finally(() => clearTimeout(timer))
  }
  const {readAll, readPlain} = backend
  return {
    name: backend.name,
    get: (account) => guard('read', () => backend.get(account)),
    set: (account, value) => guard('write', () => backend.set(account, value)),
    delete: (account) => guard('delete', () => backend.delete(account)),
    ...(readAll ? {readAll: () => guard('read', () => readAll.call(backend))} : {}),
    // Its own deadline ends its connection too; its failures other than that one are "undecided", not errors.
    ...(readPlain ? {readPlain: (account: string) => readPlain.call(backend, account)} : {}),
  }
}

/** The innermost message: napi-rs nests "Platform failure: DBus error: <the useful part>". */
function describeError(error: unknown): string {
  let current: unknown = error
  let message = String(error)
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    message = current.message
    current = current.cause
  }
  return message
}

/** Platform keychain names, for messages. */
export function keychainName(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return 'macOS Keychain'
  if (platform === 'win32') return 'Windows Credential Manager'
  return 'Secret Service'
}
