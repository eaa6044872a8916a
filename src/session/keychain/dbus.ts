
import {KeychainUnavailableError} from './backend.js'

/**
 * Rejects unless the D-Bus session bus at `address` answers the first step of its handshake (a bare
 * SASL `AUTH`, to which every bus replies with the mechanisms it accepts) within `timeoutMs`.
 * Addresses other than unix paths and abstract sockets are left to the library.
 */
export async function busAnswers(address: string | undefined, timeoutMs: number): Promise<void> {
  if (!address) throw new KeychainUnavailableError('no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)')
  const first = address.split(';')[0]!
  const path = /^unix:(?:.*,)?path=([^,]+)/.exec(first)?.[1]
  const abstract = /^unix:(?:.*,)?abstract=([^,]+)/.exec(first)?.[1]
  const target = path ? decodeURIComponent(path) : abstract ? `\0${decodeURIComponent(abstract)}` : undefined
  if (!target) return
  // node:net loads here, not when the keychain modules do: `auto` storage reading a file session never asks the bus.
  const net = process.getBuiltinModule('node:net')
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(target)
    const fail = (reason: string) => {
      socket.destroy()
      reject(new KeychainUnavailableError(`the D-Bus session bus at ${first} ${reason}`))
    }
    const timer = setTimeout(() => fail(`did not answer within ${Math.round(timeoutMs / 1000)} s`), timeoutMs)
    socket.once('connect', () => socket.write('\0AUTH\r\n'))
    socket.once('data', () => {
      clearTimeout(timer)
      socket.destroy()
      resolve()
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      fail(`cannot be reached (${error.message})`)
    })
  })
}
