import net from 'node:net'

import {StorageUnavailableError, UnexpectedError} from '../errors.js'
import {crypto} from '../lazy-crypto.js'

/** The keychain service every onramp entry lives under; the account is the session key (issuer + client id). */
export const KEYCHAIN_SERVICE = 'onramp'

/**
 * Windows Credential Manager caps a secret at 2560 bytes of UTF-16 (1280 code units); macOS and the
 * Secret Service allow more. One limit everywhere, with room for the part header, keeps entries portable.
 */
export const MAX_ENTRY_CHARS = 1200

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

/**
 * Wraps a backend so every call has a deadline and every failure is a KeychainUnavailableError.
 * A locked keyring may wait forever on an unlock prompt nobody sees: the race makes that an error
 * even when the native call ignores the abort signal. Limit: a native call already running cannot
 * be cancelled, and Node joins its thread pool at exit, so the process itself ends only when that
 * call does (the prompt is answered or dismissed). Without a display the prompt fails at once.
 */
export function withDeadlines(backend: SecretBackend, {timeoutMs}: {timeoutMs: number}): SecretBackend {
  const guard = <T>(what: string, call: () => Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new KeychainUnavailableError(`${backend.name} did not answer within ${Math.round(timeoutMs / 1000)} s (${what}; a locked keyring waiting for an unlock prompt?)`)),
        timeoutMs,
      )
    })
    const attempt = Promise.resolve()
      .then(call)
      .catch((error: unknown) => {
        if (error instanceof KeychainUnavailableError) throw error
        throw new KeychainUnavailableError(`${backend.name} failed (${what}): ${describeError(error)}`, error)
      })
    return Promise.race([attempt, deadline]).finally(() => clearTimeout(timer))
  }
  return {
    name: backend.name,
    get: (account) => guard('read', () => backend.get(account)),
    set: (account, value) => guard('write', () => backend.set(account, value)),
    delete: (account) => guard('delete', () => backend.delete(account)),
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

/** What the keychain holds for one session. */
export interface SessionSecrets {
  access_token: string
  refresh_token: string | null
}

/** Platform keychain names, for messages. */
export function keychainName(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return 'macOS Keychain'
  if (platform === 'win32') return 'Windows Credential Manager'
  return 'Secret Service'
}

/**
 * The real keychain through `@napi-rs/keyring` (AsyncEntry). Linux is pinned to the Secret Service:
 * the default falls back to the kernel keyring, which forgets everything at reboot. Loaded on first
 * use so the file backend never pays for the native module.
 */
export function createNativeBackend({service = KEYCHAIN_SERVICE, timeoutMs = KEYCHAIN_TIMEOUT_MS}: {service?: string; timeoutMs?: number} = {}): SecretBackend {
  const name = keychainName()
  let module: Promise<typeof import('@napi-rs/keyring')> | undefined
  let bus: Promise<void> | undefined
  const entry = async (account: string) => {
    // AsyncEntry's constructor connects to D-Bus synchronously: a bus that accepts but never answers
    // would freeze the event loop, deadline timers included. So first ask it, asynchronously.
    if (process.platform === 'linux') await (bus ??= busAnswers(process.env.DBUS_SESSION_BUS_ADDRESS, timeoutMs))
    const {AsyncEntry} = await (module ??= import('@napi-rs/keyring'))
    // The constructor connects to the Secret Service on Linux: a missing bus throws here.
    return new AsyncEntry(service, account, {linux: {store: 'secret-service'}})
  }
  // A fresh controller per call, referenced until the call settles (Node 20 may drop unreferenced timeout signals).
  const signalled = async <T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), timeoutMs)
    try {
      return await call(controller.signal)
    } finally {
      clearTimeout(timer)
    }
  }
  return withDeadlines(
    {
      name,
      get: async (account) => {
        const item = await entry(account)
        return (await signalled((signal) => item.getPassword(signal))) ?? undefined
      },
      set: async (account, value) => {
        const item = await entry(account)
        await signalled((signal) => item.setPassword(value, signal))
      },
      delete: async (account) => {
        const item = await entry(account)
        return signalled((signal) => item.deletePassword(signal))
      },
    },
    {timeoutMs},
  )
}


/**
 * Rejects unless the D-Bus session bus at `address` answers the first step of its handshake (a bare
 * SASL `AUTH`, to which every bus replies with the mechanisms it accepts) within `timeoutMs`.
 * Addresses other than unix paths and abstract sockets are left to the library.
 */
export async function busAnswers(address: string | undefined, timeoutMs: number): Promise<void> {
  if (!address) throw new KeychainUnavailableError('no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)')
  const first = address.split(';')[0]!
  const path = /^unix:(?:.*,)?path=([^,]+)/.exec(first)?.[1]
  const abstract = /^unix:(?:.*,)?abstract=([^,]+)/.exec(first)?.[1]
  const target = path ? decodeURIComponent(path) : abstract ? `\0${decodeURIComponent(abstract)}` : undefined
  if (!target) return
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(target)
    const fail = (reason: string) => {
      socket.destroy()
      reject(new KeychainUnavailableError(`the D-Bus session bus at ${first} ${reason}`))
    }
    const timer = setTimeout(() => fail(`did not answer within ${Math.round(timeoutMs / 1000)} s`), timeoutMs)
    socket.once('connect', () => socket.write('\0AUTH\r\n'))
    socket.once('data', () => {
      clearTimeout(timer)
      socket.destroy()
      resolve()
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      fail(`cannot be reached (${error.message})`)
    })
  })
}

/**
 * Proves the keychain can store a secret right now: write, read back, delete a throwaway entry.
 * A read alone proves little: a locked Secret Service answers "no entry" for items it holds, while a
 * write asks it to unlock (a prompt on a desktop; an error without one). Unique per call, so
 * concurrent processes never see each other's probe.
 */
export async function probeKeychain(backend: SecretBackend): Promise<{ok: true} | {ok: false; reason: string}> {
  const account = `onramp-probe-${process.pid}-${crypto().randomBytes(6).toString('hex')}`
  const value = crypto().randomBytes(12).toString('hex')
  try {
    await backend.set(account, value)
    const read = await backend.get(account)
    await backend.delete(account)
    if (read !== value) return {ok: false, reason: `${backend.name} did not return what was just stored in it`}
    return {ok: true}
  } catch (error) {
    if (error instanceof KeychainUnavailableError) return {ok: false, reason: error.reason}
    throw error
  }
}

/*
 * Values longer than MAX_ENTRY_CHARS are split: the session's own entry then holds a header
 * `onramp-parts:v1:<generation>:<count>` and the parts live at `<account>#part:<generation>:<i>`.
 * A new generation's parts are written before the header that points at them, and the old parts are
 * deleted after, so a reader (or a crash) never sees a header pointing at missing parts of a
 * half-written value. Plain values are JSON (`{...`) and can never look like a header.
 */
const PARTS_HEADER = /^onramp-parts:v1:([0-9a-f]+):(\d+)$/

function partAccount(account: string, generation: string, index: number): string {
  return `${account}#part:${generation}:${index}`
}

/** Splits on UTF-16 code units, never between the two halves of a surrogate pair. */
export function splitValue(value: string, size = MAX_ENTRY_CHARS): string[] {
  const parts: string[] = []
  let start = 0
  while (start < value.length) {
    let end = Math.min(start + size, value.length)
    const last = value.charCodeAt(end - 1)
    if (end < value.length && last >= 0xd800 && last <= 0xdbff) end-- // high surrogate: keep the pair together
    parts.push(value.slice(start, end))
    start = end
  }
  return parts
}

async function readHeader(backend: SecretBackend, account: string): Promise<{raw: string | undefined; parts?: {generation: string; count: number}}> {
  const raw = await backend.get(account)
  const match = raw === undefined ? null : PARTS_HEADER.exec(raw)
  return match ? {raw, parts: {generation: match[1]!, count: Number(match[2])}} : {raw}
}

/** The value stored at `account` (joined from its parts when split); undefined when there is none. */
export async function readValue(backend: SecretBackend, account: string): Promise<string | undefined> {
  for (let attempt = 0; ; attempt++) {
    const header = await readHeader(backend, account)
    if (!header.parts) return header.raw
    const parts: string[] = []
    for (let index = 0; index < header.parts.count; index++) {
      const part = await backend.get(partAccount(account, header.parts.generation, index))
      if (part === undefined) break
      parts.push(part)
    }
    if (parts.length === header.parts.count) return parts.join('')
    // A writer replaced the value between our reads: read its new header once.
    if (attempt > 0) {
      throw new UnexpectedError(
        `The keychain entry for ${account} (service ${KEYCHAIN_SERVICE}) is incomplete: a part is missing. Run onramp login to store a new session.`,
        {code: 'keychain_entry_corrupt', nextCommand: 'onramp login'},
      )
    }
  }
}

/** Stores `value` at `account`, split into parts when longer than one entry may hold. */
export async function writeValue(backend: SecretBackend, account: string, value: string): Promise<void> {
  const previous = await readHeader(backend, account)
  if (value.length <= MAX_ENTRY_CHARS) {
    await backend.set(account, value)
  } else {
    const generation = crypto().randomBytes(6).toString('hex')
    const parts = splitValue(value)
    for (const [index, part] of parts.entries()) await backend.set(partAccount(account, generation, index), part)
    await backend.set(account, `onramp-parts:v1:${generation}:${parts.length}`)
  }
  if (previous.parts) await deleteParts(backend, account, previous.parts)
}

/** Removes the value and its parts; true when there was one. */
export async function deleteValue(backend: SecretBackend, account: string): Promise<boolean> {
  const header = await readHeader(backend, account)
  const deleted = await backend.delete(account)
  if (header.parts) await deleteParts(backend, account, header.parts)
  return deleted
}

async function deleteParts(backend: SecretBackend, account: string, {generation, count}: {generation: string; count: number}): Promise<void> {
  for (let index = 0; index < count; index++) await backend.delete(partAccount(account, generation, index))
}

/** The secrets as stored: a small JSON object, so the refresh token travels with its access token. */
export function encodeSecrets({access_token, refresh_token}: SessionSecrets): string {
  return JSON.stringify({access_token, refresh_token})
}

export function decodeSecrets(value: string, account: string): SessionSecrets {
  try {
    const parsed = JSON.parse(value) as Partial<SessionSecrets>
    if (typeof parsed.access_token === 'string' && parsed.access_token !== '' && (parsed.refresh_token === null || typeof parsed.refresh_token === 'string')) {
      return {access_token: parsed.access_token, refresh_token: parsed.refresh_token || null}
    }
  } catch {
    // reported below
  }
  throw new UnexpectedError(
    `The keychain entry for ${account} (service ${KEYCHAIN_SERVICE}) is not one onramp wrote. It was left unchanged; run onramp login to store a new session.`,
    {code: 'keychain_entry_corrupt', nextCommand: 'onramp login'},
  )
}
