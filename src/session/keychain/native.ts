import {loadKeyring, type Keyring} from './addon.js'
import {busAnswers} from './dbus.js'
import {readPlain} from './secret-service.js'
import {stuckCall} from './stuck-exit.js'
import {KEYCHAIN_SERVICE, KEYCHAIN_TIMEOUT_MS, keychainName, withDeadlines, type SecretBackend} from './backend.js'

/**
 * The real keychain through `@napi-rs/keyring` (AsyncEntry). Linux is pinned to the Secret Service:
 * the default falls back to the kernel keyring, which forgets everything at reboot. Loaded on first
 * use so the file backend never pays for the native module.
 */
export function createNativeBackend({service = KEYCHAIN_SERVICE, timeoutMs = KEYCHAIN_TIMEOUT_MS}: {service?: string; timeoutMs?: number} = {}): SecretBackend {
  const name = keychainName()
  let module: Promise<Keyring> | undefined
  let bus: Promise<void> | undefined
  /** The addon, once the session bus has answered (Linux). */
  const ready = async (): Promise<Keyring> => {
    // AsyncEntry's constructor connects to D-Bus synchronously: a bus that accepts but never answers
    // would freeze the event loop, deadline timers included; and a connection stuck on the thread pool
    // (readAll) would keep the process alive after its deadline. So first ask the bus, asynchronously.
    const answering = process.platform === 'linux' ? (bus ??= busAnswers(process.env.DBUS_SESSION_BUS_ADDRESS, timeoutMs)) : undefined
    answering?.catch(() => undefined) // awaited below; not an unhandled rejection when the addon fails first
    // Loading the addon touches no D-Bus, so it loads while the bus answers (start-up: the two overlap).
    const keyring = await (module ??= loadKeyring())
    await answering
    return keyring
  }
  const entry = async (account: string) => {
    const {AsyncEntry} = await ready()
    // The constructor connects to the Secret Service on Linux (and its key exchange, on this thread): a missing bus throws here.
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
      // Linux only: findCredentialsAsync connects, exchanges keys, searches and reads every secret on the
      // thread pool (a search by service, then each item's secret), where `get` pays the connection and
      // key exchange on the main thread for every entry. Elsewhere it is not needed (and not tried).
      ...(process.platform === 'linux'
        ? {
            readAll: async () => {
              const {findCredentialsAsync} = await ready()
              return byAccount(await signalled((signal) => findCredentialsAsync(service, null, signal)))
            },
            // No addon, no key exchange: a plain Secret Service session over the bus (secret-service.ts).
            readPlain: (account: string) => readPlain(account, {address: process.env.DBUS_SESSION_BUS_ADDRESS, service, timeoutMs}),
          }
        : {}),
    },
    // A call past its deadline may still be waiting on the thread pool: counted, so the CLI can end without it.
    {timeoutMs, onDeadline: stuckCall},
  )
}

/** account -> value; an account found more than once is left out, so reading it reports the ambiguity. */
export function byAccount(found: readonly {account: string; password: string}[]): Map<string, string> {
  const values = new Map<string, string>()
  const twice = new Set<string>()
  for (const {account, password} of found) {
    if (values.has(account)) twice.add(account)
    values.set(account, password)
  }
  for (const account of twice) values.delete(account)
  return values
}
