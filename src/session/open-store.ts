import path from 'node:path'

import type {Paths} from '../paths.js'
import {createFileStore} from './file-store.js'
import type {SecretBackend} from './keychain/backend.js'
import {storageMode, type RawSessionStore, type SessionStore, type StorageLocation} from './store.js'

// The keychain modules (and @napi-rs/keyring, node:crypto, node:net under them) load only when
// ONRAMP_STORAGE is not `file`: `onramp token` on the file store never pays for them. The Redis store
// (redis-store.ts, and ioredis under it) loads only for ONRAMP_STORAGE=redis.

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
 * the reason, shown once (a marker in the state dir remembers it);
 * `redis`: sealed sessions in the Redis at ONRAMP_REDIS_URL, shared by many machines (redis-store.ts).
 * In both keychain modes, sessions found in the plaintext file stay readable and move into the
 * keychain at their next save.
 */
export async function openSessionStore({env, paths, warn, backend, probe = false}: OpenSessionStoreOptions): Promise<SessionStore> {
  const mode = storageMode(env)
  if (mode === 'redis') return (await import('./redis-store.js')).openRedisStore({env})
  const file = createFileStore({path: path.join(paths.config, 'credentials.json'), warn})
  if (mode === 'file') return fileSessions(file)
  // The keychain store, its backend and the metadata file load together, only for keychain modes.
  const [{keychainSessions}, native, {createMetadataFile}, fallback] = await Promise.all([
    import('./keychain/store.js'),
    import('./keychain/native.js'),
    import('./metadata.js'),
    import('./fallback-warning.js'),
  ])
  const store = keychainSessions({
    mode,
    file,
    metadata: createMetadataFile({path: path.join(paths.config, 'sessions.json')}),
    backend: backend ?? native.createNativeBackend({timeoutMs: keychainTimeout(env)}),
    onFallback: (reason) => fallback.warnFallbackOnce({paths, reason, location: file.location, warn}),
    onKeychainWorks: () => fallback.forgetFallbackWarning(paths),
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

/** ONRAMP_KEYCHAIN_TIMEOUT_MS (tests and slow desktops), else the default deadline per keychain call. */
function keychainTimeout(env: NodeJS.ProcessEnv): number | undefined {
  const value = Number(env.ONRAMP_KEYCHAIN_TIMEOUT_MS)
  return Number.isFinite(value) && value > 0 ? value : undefined
}
