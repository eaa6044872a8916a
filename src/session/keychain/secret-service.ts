import {KEYCHAIN_SERVICE, KEYCHAIN_TIMEOUT_MS, KeychainUnavailableError, keychainName} from './backend.js'
import {busSocket} from './dbus.js'
import {connectBus, type BusConnection} from './dbus-client.js'
import type {MethodCall} from './dbus-wire.js'
import {partAccounts} from './parts.js'

/*
 * The plain read (Linux, `onramp token`): a session's entries straight from the Secret Service over the
 * session bus, in a "plain" session, as gh (go-keyring) reads its tokens. @napi-rs/keyring always opens
 * an encrypted session, whose Diffie-Hellman key exchange (dh-ietf1024) is most of a keychain `token`'s
 * start-up; that encryption protects the secret only on the user's own session bus, which only processes of
 * the same user can watch, and those can ask the Secret Service for the secret themselves. Reads only:
 * writes, deletes and compare-and-replace go through the library, and so does every read this cannot
 * decide. Hand-written (dbus-wire.ts, dbus-client.ts) because a D-Bus library costs start-up time too.
 */

const BUS: MethodCall = {destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello'}
const SECRETS = {destination: 'org.freedesktop.secrets', path: '/org/freedesktop/secrets', interface: 'org.freedesktop.Secret.Service'}

export interface PlainReadOptions {
  /** DBUS_SESSION_BUS_ADDRESS */
  address: string | undefined
  service?: string
  timeoutMs?: number
  /** unix-stream.ts's way to the socket; its own choice unless a test names one. */
  transport?: 'pipe' | 'net'
}

/**
 * `account`'s entry and, when it is split (parts.ts), all its parts, account -> value; undefined when this
 * read cannot decide: no bus address or not a unix socket, connection refused or closed, auth rejected,
 * an error reply (no Secret Service, for one), an item locked or missing or found twice, anything of an
 * unexpected shape. The keychain library then reads, unchanged, and decides with its own messages.
 * Rejects only at the deadline (the socket is destroyed, nothing native was started, so the process can
 * end): a bus silent from the start as the bus check words it, a Secret Service that stopped answering as
 * a KeychainTimeoutError.
 */
export async function readPlain(account: string, {address, service = KEYCHAIN_SERVICE, timeoutMs = KEYCHAIN_TIMEOUT_MS, transport}: PlainReadOptions): Promise<ReadonlyMap<string, string> | undefined> {
  const socket = address ? busSocket(address) : undefined
  if (!socket?.target || typeof process.getuid !== 'function') return undefined
  let bus: BusConnection | undefined
  try {
    bus = connectBus({first: socket.first, target: socket.target}, {timeoutMs, timeoutName: keychainName(), transport})
    const search = (name: string) => bus!.call({...SECRETS, member: 'SearchItems'}, 'a{ss}', [[['service', service], ['username', name]]], 'aoao')
    // The bus's Hello and the search, sent together behind the handshake. The session is opened only once
    // the Secret Service has answered a call of this connection: gnome-keyring 42 records a new client on
    // its main loop after the call arrives, and an OpenSession that is a client's first call can find no
    // record and abort the daemon ("gkd_secret_service_get_pkcs11_session: assertion 'client' failed",
    // upstream issues 190, 196, 199). Measured with 32 connections at a time: OpenSession first, or behind
    // the search without waiting for it, crashed it within a few thousand connections; after the
    // search's answer, never in 96,000. A search that finds nothing usable also needs no session at all.
    const [, found] = await Promise.all([bus.call(BUS, '', [], 's'), search(account)])
    const item = onlyItem(found!)
    const [, session] = await bus.call({...SECRETS, member: 'OpenSession'}, 'sv', ['plain', ['s', '']], 'vo')
    if (typeof session !== 'string') return undefined
    const [value] = await secrets(bus, session, [item])
    const values = new Map([[account, value!]])
    const parts = partAccounts(account, value!)
    if (parts.length > 0) {
      // Every part's search together, then one GetSecrets for all of them.
      const items = (await Promise.all(parts.map(search))).map(onlyItem)
      const read = await secrets(bus, session, items)
      parts.forEach((part, index) => values.set(part, read[index]!))
    }
    return values
  } catch (error) {
    if (error instanceof KeychainUnavailableError) throw error
    return undefined // BusUnusual, Undecided, or a value of an unexpected shape
  } finally {
    bus?.close()
  }
}

/** What the plain read cannot decide on its own. */
class Undecided extends Error {}

/** The one unlocked item SearchItems found; anything else (none, several, any locked) is undecided. */
function onlyItem([unlocked, locked]: unknown[]): string {
  if (!Array.isArray(unlocked) || !Array.isArray(locked) || locked.length > 0 || unlocked.length !== 1 || typeof unlocked[0] !== 'string') throw new Undecided()
  return unlocked[0]
}

/** Strict (not UTF-8: undecided, as the library refuses it too) and keeping a leading BOM, byte for byte. */
let utf8: InstanceType<typeof TextDecoder> | undefined

/** The secrets of `items`, in their order, as UTF-8 text (what the library stores); undecided when one is missing or not UTF-8. */
async function secrets(bus: BusConnection, session: string, items: string[]): Promise<string[]> {
  const [found] = await bus.call({...SECRETS, member: 'GetSecrets'}, 'aoo', [items, session], 'a{o(oayays)}')
  const byItem = new Map((found as [string, [string, Buffer, Buffer, string]][]).map(([item, secret]) => [item, secret]))
  return items.map((item) => {
    const secret = byItem.get(item)
    if (!secret || secret[0] !== session) throw new Undecided()
    return (utf8 ??= new TextDecoder('utf-8', {fatal: true, ignoreBOM: true})).decode(secret[2])
  })
}
