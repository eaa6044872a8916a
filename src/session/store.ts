import fs from 'node:fs/promises'
import path from 'node:path'

import {NotLoggedInError, UsageError} from '../errors.js'
import type {Paths} from '../paths.js'
import {rememberSecret} from '../redact.js'
import {createFileStore} from './file-store.js'
import type {SecretBackend} from './keychain.js'
import type {MetadataEntry, MetadataFile, SessionMetadata} from './metadata.js'
import {findStoredKey, sessionKey, type Session, type SessionKey} from './session.js'

// The keychain modules (and @napi-rs/keyring, node:crypto, node:net under them) load only when
// ONRAMP_STORAGE is not `file`: `onramp token` on the file store never pays for them.
type KeychainModule = typeof import('./keychain.js')
type MetadataModule = typeof import('./metadata.js')

export type StorageKind = 'keychain' | 'file' | 'env'

/** The JSON shape of `storage` in every --json document. */
export type StorageDescription = StorageLocation

/** Where secrets live: the JSON shape of `storage` everywhere (status, login, signup, token). */
export interface StorageLocation {
  kind: StorageKind
  /** For humans: a file path, or the keychain and its service name. */
  location: string
}

/** A session without its tokens, and where ITS tokens live (a plaintext file session stays visible as one). */
export type SessionInfo = SessionMetadata & {storage: StorageLocation}

export interface SaveResult {
  /** Where the session's tokens are now. */
  storage: StorageLocation
  /** Set when this save moved the tokens out of another place (plaintext file -> keychain), which it then emptied. */
  moved_from: StorageLocation | null
}

/** The sessions, whichever backend holds their tokens. */
export interface SessionStore {
  /** describe().kind / .location: where new sessions go. */
  readonly kind: StorageKind
  readonly location: string
  describe(): StorageLocation
  /** Every session's metadata, read without touching the keychain (status must never unlock anything). */
  list(): Promise<SessionInfo[]>
  /** The whole session, tokens included; undefined when there is none. A keychain failure is exit 7, never "not logged in". */
  get(key: SessionKey): Promise<Session | undefined>
  save(session: Session): Promise<SaveResult>
  /** Removes the session from every place it may be (keychain, metadata, plaintext file). True when there was one. */
  delete(key: SessionKey): Promise<boolean>
  /** Saves only if the stored session still holds `ifRefreshToken` (a refresh must not resurrect or overwrite). */
  replace?(session: Session, options: {ifRefreshToken: string | null}): Promise<'saved' | 'missing' | 'changed'>
  /**
   * Throws (exit 1 corrupt/untrusted, exit 7 unwritable or keychain unavailable) when a session could not be
   * saved now: called before a browser opens or a refresh token is spent, so nothing is lost.
   */
  checkWritable?(): Promise<void>
}

/** A backend that holds whole sessions, tokens included: the credentials file (file-store.ts). */
export interface RawSessionStore {
  readonly kind: StorageKind
  readonly location: string
  list(): Promise<Session[]>
  get(key: SessionKey): Promise<Session | undefined>
  save(session: Session): Promise<void>
  delete(key: SessionKey): Promise<boolean>
  replace?(session: Session, options: {ifRefreshToken: string | null}): Promise<'saved' | 'missing' | 'changed'>
  checkWritable?(): Promise<void>
}

export const STORAGE_MODES = ['auto', 'keychain', 'file'] as const
export type StorageMode = (typeof STORAGE_MODES)[number]

export interface OpenSessionStoreOptions {
  env: NodeJS.ProcessEnv
  paths: Paths
  /** A one-line warning for stderr. */
  warn: (message: string) => void
  /** The keychain port; defaults to `@napi-rs/keyring` with a deadline on every call. Tests pass a fake. */
  backend?: SecretBackend
  /**
   * Prove now that the keychain can store a secret (write, read back, delete). Off by default: `status`
   * reads metadata only and must not unlock the keychain, and `token` reads its entry directly. Login and
   * signup prove it before the browser through `checkWritable()` (assertStoreUsable), so `keychain` fails
   * (exit 7) and `auto` falls back before a token exists to lose. Otherwise the check runs at the first
   * save, or a read that finds nothing.
   */
  probe?: boolean
}

/**
 * Picks the backend from ONRAMP_STORAGE (client.md "Sessions, storage and refresh"):
 * `file`: today's 0600 credentials file, nothing else touched;
 * `keychain`: tokens in the OS keychain, metadata in a 0600 file; never falls back (exit 7);
 * `auto`, the default: like `keychain` when a round trip works, else the file with a warning naming
 * the reason, shown once (a marker in the state dir remembers it).
 * In both keychain modes, sessions found in the plaintext file stay readable and move into the
 * keychain at their next save.
 */
export async function openSessionStore({env, paths, warn, backend, probe = false}: OpenSessionStoreOptions): Promise<SessionStore> {
  const mode = storageMode(env)
  const file = createFileStore({path: path.join(paths.config, 'credentials.json'), warn})
  if (mode === 'file') return fileSessions(file)
  const [keychain, metadataModule] = await Promise.all([import('./keychain.js'), import('./metadata.js')])
  const store = keychainSessions({
    mode,
    file,
    keychain,
    metadataModule,
    metadata: metadataModule.createMetadataFile({path: path.join(paths.config, 'sessions.json')}),
    backend: backend ?? keychain.createNativeBackend({timeoutMs: keychainTimeout(env, keychain.KEYCHAIN_TIMEOUT_MS)}),
    onFallback: (reason) => warnFallbackOnce({paths, reason, location: file.location, warn}),
    onKeychainWorks: () => fs.rm(fallbackMarker(paths), {force: true}).catch(() => undefined),
  })
  if (probe) await store.check()
  return store
}

/** The file backend as a SessionStore: every session is a plaintext one. */
function fileSessions(file: RawSessionStore): SessionStore {
  const storage: StorageLocation = {kind: 'file', location: file.location}
  return {
    kind: 'file',
    location: file.location,
    describe: () => ({...storage}),
    list: async () => (await file.list()).map(({access_token: _a, refresh_token: _r, ...metadata}) => ({...metadata, storage: {...storage}})),
    get: (key) => file.get(key),
    save: async (session) => {
      await file.save(session)
      return {storage: {...storage}, moved_from: null}
    },
    delete: (key) => file.delete(key),
    ...(file.replace ? {replace: file.replace.bind(file)} : {}),
    ...(file.checkWritable ? {checkWritable: file.checkWritable.bind(file)} : {}),
  }
}

interface KeychainSessionsOptions {
  mode: 'auto' | 'keychain'
  file: RawSessionStore
  keychain: KeychainModule
  metadataModule: MetadataModule
  metadata: MetadataFile
  backend: SecretBackend
  onFallback: (reason: string) => Promise<void>
  onKeychainWorks: () => Promise<void>
}

type Verdict = {ok: true} | {ok: false; reason: string}

/**
 * Tokens in the keychain (one entry per session: service `onramp`, account = the session key), the
 * rest in the metadata file, whose keys are the keychain entries' names. Sessions still in the plaintext
 * file are listed and read from there until their next save moves them; entries written under an older
 * key (issuer#client id) are found by their metadata and move to their new key at their next save.
 */
function keychainSessions(options: KeychainSessionsOptions): SessionStore & {check(): Promise<void>} {
  const {mode, file, metadata, backend, onFallback, onKeychainWorks} = options
  const {decodeSecrets, deleteValue, encodeSecrets, KEYCHAIN_SERVICE, KeychainUnavailableError, probeKeychain, readValue, writeValue} = options.keychain
  const {metadataOf} = options.metadataModule
  const keychain: StorageLocation = {kind: 'keychain', location: `${backend.name} (service ${KEYCHAIN_SERVICE})`}
  const plaintext: StorageLocation = {kind: 'file', location: file.location}
  let verdict: Promise<Verdict> | undefined
  let known: Verdict | undefined

  // One round trip per process, whoever asks first.
  const usable = (): Promise<Verdict> =>
    (verdict ??= probeKeychain(backend).then(async (result) => {
      known = result
      if (result.ok) await onKeychainWorks()
      else if (mode === 'auto') await onFallback(result.reason)
      return result
    }))

  /** Where a save goes now: the keychain, or (auto only) the file; `keychain` mode never falls back. */
  const target = async (): Promise<'keychain' | 'file'> => {
    const result = await usable()
    if (result.ok) return 'keychain'
    if (mode === 'keychain') throw new KeychainUnavailableError(result.reason)
    return 'file'
  }

  /** The keychain entry (and metadata key) holding `id`'s session: `id`, or an older key. */
  const storedKey = (entries: Map<string, MetadataEntry>, id: string): string | undefined =>
    entries.has(id) ? id : findStoredKey(entries, id, (entry) => sessionKey(entry.metadata))

  const describe = (): StorageLocation => ({...(known && !known.ok && mode === 'auto' ? plaintext : keychain)})

  /** The tokens of a session the metadata file places in the keychain. */
  const readSecrets = async (key: SessionKey, id: string) => {
    let value = await readValue(backend, id)
    if (value === undefined) {
      // A locked Secret Service answers "no entry" even for entries it holds: only a working keychain's "no" counts.
      const result = await usable()
      if (!result.ok) throw new KeychainUnavailableError(result.reason)
      value = await readValue(backend, id) // the probe's write may have unlocked it
    }
    if (value === undefined) {
      throw new NotLoggedInError(
        `The session for ${key.issuer} (client ${key.client_id}) is listed in ${metadata.location}, but ${keychain.location} has no entry for it: it was removed outside onramp. Run onramp login.`,
      )
    }
    return decodeSecrets(value, id)
  }

  const store: SessionStore & {check(): Promise<void>} = {
    get kind() {
      return describe().kind
    },
    get location() {
      return describe().location
    },
    describe,
    async check() {
      await target()
    },
    async checkWritable() {
      // Where the next save goes must take it: the keychain (proved by a round trip), or the file.
      // (The metadata file is written under its own lock with an atomic rename, like the credentials file.)
      if ((await target()) === 'file') await file.checkWritable?.()
    },
    async list() {
      const [entries, plain] = await Promise.all([metadata.read(), file.list()])
      const listed: SessionInfo[] = [...entries.values()].map(({metadata: info}) => ({...info, storage: {...keychain}}))
      const inKeychain = new Set([...entries.values()].map((entry) => sessionKey(entry.metadata)))
      for (const session of plain) {
        if (!inKeychain.has(sessionKey(session))) listed.push({...metadataOf(session), storage: {...plaintext}})
      }
      return listed
    },
    async get(key) {
      const entries = await metadata.read()
      const stored = storedKey(entries, sessionKey(key))
      const entry = stored === undefined ? undefined : entries.get(stored)
      if (stored === undefined || !entry) return file.get(key)
      const secrets = await readSecrets(key, stored)
      return {...entry.metadata, ...secrets}
    },
    async save(session) {
      const id = sessionKey(session)
      if ((await target()) === 'file') {
        await file.save(session)
        // The keychain cannot be reached to clear the old entry; the file copy is the newer one.
        await metadata.update((entries) => {
          const stored = storedKey(entries, id)
          return {result: undefined, write: stored !== undefined && entries.delete(stored)}
        })
        return {storage: {...plaintext}, moved_from: null}
      }
      const info = metadataOf(session) // validates before anything is written
      // The keychain write happens under the metadata lock, so a refresh's compare-and-replace never interleaves with it.
      await metadata.update(async (entries) => {
        const stored = storedKey(entries, id)
        await writeValue(backend, id, encodeSecrets(session))
        if (stored !== undefined && stored !== id) {
          // Written under an older key: the new entry holds it now.
          entries.delete(stored)
          await deleteValue(backend, stored)
        }
        entries.set(id, {metadata: info, secrets: 'keychain'})
        return {result: undefined, write: true}
      })
      // Only now, with the tokens safely in the keychain, remove the plaintext copy.
      const moved = await file.delete(session)
      return {storage: {...keychain}, moved_from: moved ? {...plaintext} : null}
    },
    async replace(session, {ifRefreshToken}) {
      const id = sessionKey(session)
      // A session still in the plaintext file is replaced there (the file store compares under its own lock).
      if (storedKey(await metadata.read(), id) === undefined) return file.replace ? file.replace(session, {ifRefreshToken}) : 'missing'
      const info = metadataOf(session)
      return metadata.update(async (entries) => {
        // A refresh keeps the entry where it is (an older key moves at the next save).
        const stored = storedKey(entries, id)
        if (stored === undefined) return {result: 'missing' as const, write: false} // logged out meanwhile
        const secrets = await readSecrets(session, stored)
        if (secrets.refresh_token !== ifRefreshToken) return {result: 'changed' as const, write: false} // a newer login won
        await writeValue(backend, stored, encodeSecrets(session))
        entries.set(stored, {metadata: info, secrets: 'keychain'})
        return {result: 'saved' as const, write: true}
      })
    },
    async delete(key) {
      const id = sessionKey(key)
      const listed = storedKey(await metadata.read(), id) !== undefined
      let scrubbed = false
      const result = await usable()
      if (!result.ok && listed) {
        // Removing the metadata alone would orphan live tokens in the keychain: change nothing.
        throw new KeychainUnavailableError(`${result.reason}; nothing was removed, so logging out can be retried once it works`)
      }
      // Under the metadata lock, like save and replace: a refresh finishing meanwhile cannot write the secret back.
      const unlisted = await metadata.update(async (entries) => {
        const stored = storedKey(entries, id) ?? id
        const had = entries.delete(stored)
        if (result.ok) scrubbed = await deleteValue(backend, stored)
        return {result: had, write: had}
      })
      const removed = await file.delete(key)
      return listed || unlisted || removed || scrubbed
    },
  }
  return store
}

/** The auto fallback warning, once per reason: a marker in the state dir remembers it was shown. */
async function warnFallbackOnce({paths, reason, location, warn}: {paths: Paths; reason: string; location: string; warn: (message: string) => void}): Promise<void> {
  const marker = fallbackMarker(paths)
  const shown = await fs.readFile(marker, 'utf8').catch(() => undefined)
  if (shown === reason) return
  warn(
    `The OS keychain is unavailable (${reason}); sessions are stored in ${location} (plaintext, mode 0600). ` +
      'Fix the keychain and run onramp login to move them into it, or set ONRAMP_STORAGE=file to choose the file. This warning is shown once.',
  )
  try {
    await fs.mkdir(path.dirname(marker), {recursive: true, mode: 0o700})
    await fs.writeFile(marker, reason, {mode: 0o600})
  } catch {
    // Not remembering only means warning again next time.
  }
}

function fallbackMarker(paths: Paths): string {
  return path.join(paths.state, 'keychain-fallback-warned')
}

/** ONRAMP_KEYCHAIN_TIMEOUT_MS (tests and slow desktops), else the default deadline per keychain call. */
function keychainTimeout(env: NodeJS.ProcessEnv, fallback: number): number {
  const value = Number(env.ONRAMP_KEYCHAIN_TIMEOUT_MS)
  return Number.isFinite(value) && value > 0 ? value : fallback
}

/** ONRAMP_STORAGE, validated; unset or empty means auto. */
export function storageMode(env: NodeJS.ProcessEnv): StorageMode {
  const raw = env.ONRAMP_STORAGE?.trim().toLowerCase()
  if (!raw) return 'auto'
  if ((STORAGE_MODES as readonly string[]).includes(raw)) return raw as StorageMode
  throw new UsageError(`Unknown ONRAMP_STORAGE "${env.ONRAMP_STORAGE}": use one of ${STORAGE_MODES.join(', ')}.`)
}

/** ONRAMP_TOKEN when set and not blank: used as-is by `token` and `status`, never stored or refreshed. */
export function envToken(env: NodeJS.ProcessEnv): string | undefined {
  const token = env.ONRAMP_TOKEN?.trim()
  rememberSecret(token)
  return token ? token : undefined
}
