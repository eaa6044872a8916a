import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'

import {KeychainUnavailableError, type SecretBackend} from '../../src/session/keychain/backend.js'
import type {Session} from '../../src/session/session.js'

/** The login session the keychain store's unit tests save and read back (through fakeBackend). */
export const KEYCHAIN_TEST_SESSION: Session = {
  issuer: 'https://issuer.test', client_id: 'client', region: 'us', access_token: 'pha_access_value', refresh_token: 'phr_refresh_value',
  expires_at: '2030-01-01T00:00:00.000Z', scope: ['user:read'], user: {email: 'dev@example.com'}, obtained_at: '2026-01-01T00:00:00.000Z', kind: 'oauth',
}

/** Windows Credential Manager's cap on one secret: 2560 bytes of UTF-16. */
export const WINDOWS_MAX_SECRET_BYTES = 2560

export interface FakeBackend extends SecretBackend {
  entries: Map<string, string>
  calls: string[]
  /** Unavailable: every call rejects with this reason. */
  failWith?: string
  /** Like a locked Secret Service: reads say "no entry", writes fail. */
  locked?: boolean
  /** Never answers (a prompt nobody sees). */
  hang?: boolean
}

/**
 * An in-memory keychain that enforces Windows' size cap, so a test storing a long token fails unless
 * the store splits it. Behaves like the real port: unavailable -> KeychainUnavailableError.
 */
export function fakeBackend(options: {maxBytes?: number} = {}): FakeBackend {
  const maxBytes = options.maxBytes ?? WINDOWS_MAX_SECRET_BYTES
  const backend: FakeBackend = {
    name: 'Fake Keychain',
    entries: new Map(),
    calls: [],
    async get(account) {
      gate(backend, `get ${account}`)
      if (backend.hang) return new Promise<never>(() => {})
      if (backend.locked) return undefined
      return backend.entries.get(account)
    },
    async set(account, value) {
      gate(backend, `set ${account}`)
      if (backend.hang) return new Promise<never>(() => {})
      if (backend.locked) throw new KeychainUnavailableError('Fake Keychain: unlock prompt was dismissed')
      const bytes = Buffer.byteLength(value, 'utf16le')
      if (bytes > maxBytes) throw new Error(`secret of ${bytes} bytes exceeds the ${maxBytes}-byte limit`)
      backend.entries.set(account, value)
    },
    async delete(account) {
      gate(backend, `delete ${account}`)
      if (backend.hang) return new Promise<never>(() => {})
      if (backend.locked) return false
      return backend.entries.delete(account)
    },
  }
  return backend
}

function gate(backend: FakeBackend, call: string): void {
  backend.calls.push(call)
  if (backend.failWith) throw new KeychainUnavailableError(backend.failWith)
}

/**
 * Why the real Secret Service cannot be used here (undefined when it can): a store/lookup/clear round
 * trip with secret-tool, as scripts/with-keyring.sh does. Under ONRAMP_REQUIRE_KEYCHAIN_TESTS=1 (.ci/run)
 * a missing keychain is a failure, not a skip.
 */
export function secretServiceUnavailable(): string | undefined {
  const reason = probeSecretService()
  if (reason && process.env.ONRAMP_REQUIRE_KEYCHAIN_TESTS === '1') {
    throw new Error(`${reason}; ONRAMP_REQUIRE_KEYCHAIN_TESTS=1 forbids skipping (run under scripts/with-keyring.sh)`)
  }
  return reason
}

function probeSecretService(): string | undefined {
  if (!process.env.DBUS_SESSION_BUS_ADDRESS) return 'no D-Bus session bus'
  const value = randomBytes(8).toString('hex')
  const attributes = ['onramp-test-probe', value]
  const store = spawnSync('secret-tool', ['store', '--label=onramp test probe', ...attributes], {input: value, timeout: 5000, encoding: 'utf8'})
  if ((store.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT') return 'secret-tool store did not end within 5 s (a Secret Service that stopped answering, or a locked keyring waiting on its prompt)'
  if (store.error) return `secret-tool cannot run (${store.error.message}): install libsecret-tools`
  if (store.status !== 0) return `no usable Secret Service on the session bus (secret-tool store: ${store.stderr.trim() || `exit ${store.status}`})`
  const lookup = spawnSync('secret-tool', ['lookup', ...attributes], {timeout: 5000, encoding: 'utf8'})
  spawnSync('secret-tool', ['clear', ...attributes], {timeout: 5000})
  return lookup.stdout === value ? undefined : 'the Secret Service did not return what was stored in it'
}

/** Why a private keyring (scripts/with-keyring.sh) cannot be started here; same skip/fail rule. */
export function privateKeyringUnavailable(): string | undefined {
  const missing = ['dbus-run-session', 'gnome-keyring-daemon', 'secret-tool', 'dbus-send'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
  )
  const reason = missing.length > 0 ? `missing ${missing.join(', ')} (apt-get install dbus gnome-keyring libsecret-tools)` : undefined
  if (reason && process.env.ONRAMP_REQUIRE_KEYCHAIN_TESTS === '1') throw new Error(`${reason}; ONRAMP_REQUIRE_KEYCHAIN_TESTS=1 forbids skipping`)
  return reason
}

/** How many times the bus has started gnome-keyring in this run of scripts/with-keyring.sh; 0 outside it. */
export function keyringStarts(): number {
  const file = process.env.ONRAMP_KEYRING_STARTS
  if (!file) return 0
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length
  } catch {
    return 0
  }
}

/** The daemon's log (with-keyring.sh) shows it aborted opening a plain session: onramp's own read did it. */
function plainSessionCrash(): boolean {
  const file = process.env.ONRAMP_KEYRING_LOG
  try {
    return file !== undefined && file !== '' && readFileSync(file, 'utf8').includes('plain_negotiate: assertion')
  } catch {
    return false
  }
}

/**
 * Runs `body` (a whole test: its own login, storm and checks); when it fails and gnome-keyring was started
 * again meanwhile (the daemon ended: an external crash, which with-keyring.sh reports at the end of the
 * run), runs it once more, saying so. A failure with the same daemon throughout is never retried, nor a
 * crash in opening a plain session (only onramp's plain read opens one: a regression, not bad luck).
 */
export async function againIfKeyringRestarted(body: () => Promise<void>): Promise<void> {
  const starts = keyringStarts()
  try {
    await body()
  } catch (error) {
    if (keyringStarts() === starts) throw error
    if (plainSessionCrash()) throw new Error(`gnome-keyring crashed opening a plain session, which only onramp's plain read opens: ${String(error)}`)
    console.warn(`gnome-keyring-daemon was started again during this test (it ended); running the test once more. The failure was: ${String(error)}`)
    await body()
  }
}

/** `secret-tool search --all service onramp` as text: what a user sees in the keychain. */
export function searchKeychain(): string {
  const result = spawnSync('secret-tool', ['search', '--all', 'service', 'onramp'], {timeout: 5000, encoding: 'utf8'})
  return `${result.stdout}\n${result.stderr}`
}

/** Shell text that locks the default collection of the Secret Service on the current bus. */
export const LOCK_KEYRING_SH =
  'dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets ' +
  'org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/aliases/default >/dev/null'

/** A D-Bus address where nothing listens: "no Secret Service". */
export const NO_BUS = 'unix:path=/nonexistent/onramp-no-bus'
