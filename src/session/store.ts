import path from 'node:path'

import {StorageUnavailableError, UsageError} from '../errors.js'
import type {Paths} from '../paths.js'
import {rememberSecret} from '../redact.js'
import {createFileStore} from './file-store.js'
import type {Session, SessionKey} from './session.js'

/** Where sessions (or their secrets) live, as every `--json` document shows it. */
export interface StorageDescription {
  kind: 'keychain' | 'file' | 'env'
  location: string
}

export function describeStore(store: Pick<SessionStore, 'kind' | 'location'>): StorageDescription {
  return {kind: store.kind, location: store.location}
}

/** What every session backend implements (keychain, file, env). */
export interface SessionStore {
  readonly kind: 'keychain' | 'file' | 'env'
  /** Where the sessions are, for humans: a file path, a keychain service name, an env var. */
  readonly location: string
  list(): Promise<Session[]>
  get(key: SessionKey): Promise<Session | undefined>
  save(session: Session): Promise<void>
  /** True when a session was there to delete. */
  delete(key: SessionKey): Promise<boolean>
  /** Saves only if the stored session still holds `ifRefreshToken` (a refresh must not resurrect or overwrite). */
  replace?(session: Session, options: {ifRefreshToken: string | null}): Promise<'saved' | 'missing' | 'changed'>
  /** Throws (exit 1 corrupt/untrusted, exit 7 unwritable) when a session could not be saved now. */
  checkWritable?(): Promise<void>
}

export const STORAGE_MODES = ['auto', 'keychain', 'file'] as const
export type StorageMode = (typeof STORAGE_MODES)[number]

/** The keychain probe: a usable store, or why the keychain cannot be used on this machine. */
export type KeychainResult = {ok: true; store: SessionStore} | {ok: false; reason: string}
export type KeychainOpener = (options: {env: NodeJS.ProcessEnv; paths: Paths}) => Promise<KeychainResult>

/**
 * The seam for the OS keychain backend (`@napi-rs/keyring`), which a later change plugs in here.
 * Undefined means "not built into this version": `auto` then uses the file silently (there is
 * nothing to warn about yet) and `keychain` stops with exit 7.
 */
export const openKeychainStore: KeychainOpener | undefined = undefined

export interface OpenSessionStoreOptions {
  env: NodeJS.ProcessEnv
  paths: Paths
  /** A one-line warning for stderr; called at most once per open. */
  warn: (message: string) => void
  /** Overridable for tests; defaults to the built-in keychain backend (if any). */
  keychain?: KeychainOpener | undefined
}

/**
 * Picks the backend from ONRAMP_STORAGE (client.md): `file`; `keychain` (never falls back: exit 7);
 * `auto`, the default: the keychain when it works, else the file with a warning naming the reason.
 */
export async function openSessionStore({env, paths, warn, keychain = openKeychainStore}: OpenSessionStoreOptions): Promise<SessionStore> {
  const mode = storageMode(env)
  const file = () => createFileStore({path: path.join(paths.config, 'credentials.json'), warn})
  if (mode === 'file') return file()
  if (!keychain) {
    if (mode === 'auto') return file()
    throw new StorageUnavailableError(
      'ONRAMP_STORAGE=keychain, but the keychain backend is not available in this version of onramp. ' +
        'Use ONRAMP_STORAGE=file (or auto) to keep sessions in a 0600 file in the config folder.',
    )
  }
  const result = await keychain({env, paths})
  if (result.ok) return result.store
  if (mode === 'keychain') {
    throw new StorageUnavailableError(
      `ONRAMP_STORAGE=keychain, but the OS keychain is unavailable: ${result.reason}. ` +
        'Fix the keychain, or use ONRAMP_STORAGE=file to keep sessions in a 0600 file.',
    )
  }
  const store = file()
  warn(`The OS keychain is unavailable (${result.reason}); sessions are stored in ${store.location} (mode 0600). Set ONRAMP_STORAGE=file to silence this.`)
  return store
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
