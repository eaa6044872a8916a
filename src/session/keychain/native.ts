import {busAnswers} from './dbus.js'
import {KEYCHAIN_SERVICE, KEYCHAIN_TIMEOUT_MS, keychainName, withDeadlines, type SecretBackend} from './backend.js'

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
    // Loading the addon touches no D-Bus, so it loads while the bus answers (start-up: the two overlap).
    const loading = (module ??= import('@napi-rs/keyring'))
    loading.catch(() => undefined) // awaited below; not an unhandled rejection when the bus fails first
    // AsyncEntry's constructor connects to D-Bus synchronously: a bus that accepts but never answers
    // would freeze the event loop, deadline timers included. So first ask it, asynchronously.
    if (process.platform === 'linux') await (bus ??= busAnswers(process.env.DBUS_SESSION_BUS_ADDRESS, timeoutMs))
    const {AsyncEntry} = await loading
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
