import {randomBytes} from 'node:crypto'

import {fail, ok, warn, type Check, type DoctorContext} from '../types.js'
import {keychainWanted} from './storage.js'

/** Service name of the throwaway entry: never one onramp stores sessions under. */
const PROBE_SERVICE = 'onramp-doctor-probe'
const SLOW_MS = 2000

/**
 * storage.keychain: a timed write, read and delete of a throwaway entry through `@napi-rs/keyring`
 * (Linux pinned to the Secret Service, as the keychain backend uses it). A locked keyring can hang
 * on a GUI prompt, so the round trip runs under a deadline.
 */
export const checkKeychain: Check = async (ctx) => {
  const id = 'storage.keychain'
  const mode = keychainWanted(ctx)
  if (mode === 'file') return [ok('storage', id, 'not used: ONRAMP_STORAGE=file')]
  const started = Date.now()
  const outcome = await roundTrip(ctx.keychainTimeoutMs)
  const ms = Date.now() - started
  if (outcome === true) {
    if (ms > SLOW_MS) return [warn('storage', id, `keychain round trip took ${ms} ms (slow: every token read pays it)`, unlockFix(ctx))]
    return [ok('storage', id, `keychain round trip in ${ms} ms`)]
  }
  const summary = `keychain round trip failed after ${ms} ms: ${outcome}`
  if (mode === 'keychain') return [fail('storage', id, `${summary}; ONRAMP_STORAGE=keychain refuses the file`, `${unlockFix(ctx)}, or export ONRAMP_STORAGE=file`)]
  return [warn('storage', id, `${summary}; auto falls back to the 0600 file`, `${unlockFix(ctx)}, or export ONRAMP_STORAGE=file to silence this`)]
}

async function roundTrip(timeoutMs: number): Promise<true | string> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), timeoutMs)
  const timedOut = new Promise<string>((resolve) => controller.signal.addEventListener('abort', () => resolve(`no answer in ${timeoutMs / 1000} s (a locked keyring waiting for a prompt?)`)))
  const attempt = async (): Promise<true | string> => {
    const {AsyncEntry} = await import('@napi-rs/keyring')
    const entry = new AsyncEntry(PROBE_SERVICE, `probe-${randomBytes(6).toString('hex')}`, {linux: {store: 'secret-service'}})
    const secret = randomBytes(16).toString('hex')
    await entry.setPassword(secret, controller.signal)
    try {
      const read = await entry.getPassword(controller.signal)
      if (read !== secret) return 'the entry read back differs from the one written'
    } finally {
      await entry.deletePassword(controller.signal).catch(() => false)
    }
    return true
  }
  try {
    return await Promise.race([attempt().catch((error: unknown) => describeKeyringError(error)), timedOut])
  } finally {
    clearTimeout(timer)
  }
}

function describeKeyringError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  if (/ServiceUnknown|org\.freedesktop\.secrets|No such file|DBus|dbus|D-Bus/i.test(message)) return `no Secret Service answers on D-Bus (${message.split('\n')[0]})`
  return message.split('\n')[0] ?? message
}

function unlockFix(ctx: DoctorContext): string {
  if (ctx.platform === 'darwin') return 'unlock the login keychain (security unlock-keychain ~/Library/Keychains/login.keychain-db)'
  if (ctx.platform === 'win32') return 'check the Windows Credential Manager'
  return 'start and unlock a Secret Service (e.g. gnome-keyring-daemon --start --components=secrets, or KeePassXC with Secret Service on)'
}
