import {KeychainUnavailableError} from './backend.js'
import {openUnixStream} from './unix-stream.js'

/**
 * The socket of a D-Bus address: `first` is its first entry (for messages), `target` a unix path or
 * (leading NUL) an abstract socket name; undefined for any other kind (tcp:, launchd:...), which only the
 * keychain library may try. The one parser for the bus check below and the plain read (secret-service.ts).
 */
export function busSocket(address: string): {first: string; target: string | undefined} {
  const first = address.split(';')[0]!
  const path = /^unix:(?:.*,)?path=([^,]+)/.exec(first)?.[1]
  const abstract = /^unix:(?:.*,)?abstract=([^,]+)/.exec(first)?.[1]
  return {first, target: path ? decodeURIComponent(path) : abstract ? `\0${decodeURIComponent(abstract)}` : undefined}
}

/** A bus that accepted the connection and said nothing before the deadline: the same words wherever it is found. */
export function silentBus(first: string, timeoutMs: number): KeychainUnavailableError {
  return new KeychainUnavailableError(`the D-Bus session bus at ${first} did not answer within ${Math.round(timeoutMs / 1000)} s`)
}

/**
 * Rejects unless the D-Bus session bus at `address` answers the first step of its handshake (a bare
 * SASL `AUTH`, to which every bus replies with the mechanisms it accepts) within `timeoutMs`.
 * Addresses other than unix paths and abstract sockets are left to the library.
 */
export async function busAnswers(address: string | undefined, timeoutMs: number, {transport}: {transport?: 'pipe' | 'net'} = {}): Promise<void> {
  if (!address) throw new KeychainUnavailableError('no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)')
  const {first, target} = busSocket(address)
  if (!target) return
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: KeychainUnavailableError) => {
      clearTimeout(timer)
      socket.destroy()
      if (error) reject(error)
      else resolve()
    }
    const socket = openUnixStream(
      target,
      {
        data: () => settle(),
        end: (error) => settle(new KeychainUnavailableError(`the D-Bus session bus at ${first} cannot be reached (${error?.message ?? 'it closed the connection'})`)),
      },
      {transport},
    )
    const timer = setTimeout(() => settle(silentBus(first, timeoutMs)), timeoutMs)
    socket.write('\0AUTH\r\n')
  })
}
