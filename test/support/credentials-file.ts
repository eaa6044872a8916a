import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'

/**
 * The file store as a test sees it from outside the CLI: credentials.json (sessions with their tokens)
 * and sessions.json (the keychain's metadata, expiry included) under a home's XDG_CONFIG_HOME, for tests
 * that seed a session or move its expiry without going through onramp.
 */
export type StoreFile = 'credentials.json' | 'sessions.json'

interface StoredSessions {
  version: number
  sessions: Record<string, Record<string, unknown> & {expires_at: string}>
}

/** Where `file` lives for the home whose environment is `homeEnv`. */
export function storeFilePath(homeEnv: Record<string, string>, file: StoreFile = 'credentials.json'): string {
  return path.join(homeEnv.XDG_CONFIG_HOME!, 'onramp', file)
}

/** A stored file-backend session for `issuer` (client-1) under `configHome`; expired unless `expiresAt` says otherwise. */
export function storeFileSession(configHome: string, issuer: string, extra: Record<string, unknown> = {}): void {
  const dir = path.join(configHome, 'onramp')
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const session = {
    issuer,
    client_id: 'client-1',
    region: null,
    access_token: 'stored-access-token-0001',
    refresh_token: 'stored-refresh-token-0001',
    expires_at: '2020-01-01T00:00:00.000Z',
    scope: ['user:read'],
    user: null,
    obtained_at: '2020-01-01T00:00:00.000Z',
    ...extra,
  }
  writeFileSync(path.join(dir, 'credentials.json'), JSON.stringify({version: 1, sessions: {[`${issuer}#client-1`]: session}}), {mode: 0o600})
}

/**
 * Moves the expiry of every session in `file` to a second ago (by this process's clock), so the next
 * `onramp token` must refresh; returns the sessions as they were stored before.
 */
export function expireStoredSessions(homeEnv: Record<string, string>, file: StoreFile = 'credentials.json'): Array<Record<string, unknown>> {
  const where = storeFilePath(homeEnv, file)
  const data = JSON.parse(readFileSync(where, 'utf8')) as StoredSessions
  const before = Object.values(data.sessions).map((session) => ({...session}))
  for (const session of Object.values(data.sessions)) session.expires_at = new Date(Date.now() - 1000).toISOString()
  writeFileSync(where, JSON.stringify(data, null, 2), {mode: 0o600})
  return before
}
