import {UsageError} from '../errors.js'
import type {SessionMetadata} from './metadata.js'
import type {Session, SessionKey} from './session.js'

export type StorageKind = 'keychain' | 'file' | 'env' | 'redis'

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
  /**
   * Set when the keychain could not be reached (auto fell back to the file): the earlier session of the
   * same key that stays in the keychain with tokens that may still work. Its tokens are here when they
   * could be read, so the caller can revoke them.
   */
  left_behind?: {session: SessionMetadata; location: StorageLocation; tokens?: {access_token: string; refresh_token: string | null}}
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
  /**
   * The store's own lock for one refresh per session identity at a time, across every process that
   * shares the store (Redis: across machines). Without it the refresh story takes a lock file in the
   * state dir, which serializes the processes of one machine.
   */
  withRefreshLock?<T>(key: SessionKey, fn: () => Promise<T>): Promise<T>
}

/**
 * A backend that holds whole sessions, tokens included: the credentials file (file-store.ts). Read,
 * delete, replace and the writable check as a SessionStore's; it lists whole sessions and saves without
 * a report.
 */
export interface RawSessionStore extends Pick<SessionStore, 'kind' | 'location' | 'get' | 'delete' | 'replace' | 'checkWritable'> {
  list(): Promise<Session[]>
  save(session: Session): Promise<void>
}

export const STORAGE_MODES = ['auto', 'keychain', 'file', 'redis'] as const
export type StorageMode = (typeof STORAGE_MODES)[number]

/** ONRAMP_STORAGE, validated; unset or empty means auto. */
export function storageMode(env: NodeJS.ProcessEnv): StorageMode {
  const raw = env.ONRAMP_STORAGE?.trim().toLowerCase()
  if (!raw) return 'auto'
  if ((STORAGE_MODES as readonly string[]).includes(raw)) return raw as StorageMode
  throw new UsageError(`Unknown ONRAMP_STORAGE "${env.ONRAMP_STORAGE}": use one of ${STORAGE_MODES.join(', ')}.`)
}
