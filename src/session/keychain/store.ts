import {NotLoggedInError} from '../../errors.js'
import {findStoredKey, sessionKey, type SessionKey} from '../session.js'
import {metadataOf, type MetadataEntry, type MetadataFile} from '../metadata.js'
import type {RawSessionStore, SessionInfo, SessionStore, StorageLocation} from '../store.js'
import {KEYCHAIN_SERVICE, KeychainTimeoutError, KeychainUnavailableError, type SecretBackend} from './backend.js'
import {deleteValue, readValue, valueIn, writeValue} from './parts.js'
import {probeKeychain} from './probe.js'
import {decodeSecrets, encodeSecrets} from './secrets.js'

export interface KeychainSessionsOptions {
  mode: 'auto' | 'keychain'
  file: RawSessionStore
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
export function keychainSessions(options: KeychainSessionsOptions): SessionStore & {check(): Promise<void>} {
  const {mode, file, metadata, backend, onFallback, onKeychainWorks} = options
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

  /**
   * `get`'s read: the session's value out of one readAll (every onramp entry at once, off the main
   * thread: `onramp token` waits for one connection instead of one per entry, and none on the main
   * thread). Undefined when that cannot tell: no such call, no entry (a locked Secret Service hides
   * them), an ambiguous entry, a missing part, a failed call; readSecrets then reads entry by entry and
   * decides, with its locked-keyring and lost-race handling. A call cut at its deadline is not made again.
   * Not for replace: its compare-and-replace reads under the metadata lock, entry by entry.
   */
  const readAtOnce = async (id: string): Promise<string | undefined> => {
    if (!backend.readAll) return undefined
    const entries = await backend.readAll().catch((error: unknown) => {
      if (error instanceof KeychainTimeoutError) throw error
      return undefined
    })
    return entries && valueIn(entries, id)
  }

  /**
   * `get`'s first read (Linux): the entry and its parts over the session bus in a plain Secret Service
   * session (secret-service.ts), no addon loaded. Undefined when that cannot decide (a locked item, a
   * missing one or part, no Secret Service, anything unusual): readAtOnce and readSecrets then run as
   * they would without it. A bus silent until the deadline is the one answer it gives as an error.
   */
  const readPlainly = async (id: string): Promise<string | undefined> => {
    const entries = await backend.readPlain?.(id)
    return entries && valueIn(entries, id)
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
      const value = (await readPlainly(stored)) ?? (await readAtOnce(stored))
      const secrets = value === undefined ? await readSecrets(key, stored) : decodeSecrets(value, stored)
      return {...entry.metadata, ...secrets}
    },
    async save(session) {
      const id = sessionKey(session)
      if ((await target()) === 'file') {
        await file.save(session)
        // The keychain cannot be reached to clear the old entry; the file copy is the newer one. The old
        // entry's tokens stay there: reported (and read if the keychain still answers reads, so they can be revoked).
        const leftBehind = await metadata.update(async (entries) => {
          const stored = storedKey(entries, id)
          const entry = stored === undefined ? undefined : entries.get(stored)
          if (stored === undefined || !entry) return {result: undefined, write: false}
          entries.delete(stored)
          const tokens = await readValue(backend, stored).then(
            (value) => (value === undefined ? undefined : decodeSecrets(value, stored)),
            () => undefined,
          )
          return {result: {session: entry.metadata, location: {...keychain}, ...(tokens ? {tokens} : {})}, write: true}
        })
        return {storage: {...plaintext}, moved_from: null, ...(leftBehind ? {left_behind: leftBehind} : {})}
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
