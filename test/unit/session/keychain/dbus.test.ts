import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {KeychainUnavailableError} from '../../../../src/session/keychain/backend.js'
import {busAnswers} from '../../../../src/session/keychain/dbus.js'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

/** A unix socket that accepts connections and then answers (like a bus) or stays silent (a wedged one). */
async function socketServer(answer: boolean): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-bus-'))
  const file = path.join(dir, 'bus')
  const sockets: net.Socket[] = []
  const server = net.createServer((socket) => {
    sockets.push(socket)
    if (answer) socket.once('data', () => socket.write('REJECTED EXTERNAL\r\n'))
  })
  await new Promise<void>((resolve) => server.listen(file, resolve))
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
    fs.rmSync(dir, {recursive: true, force: true})
  })
  return `unix:path=${file}`
}

// Over both ways to the socket (unix-stream.ts): the Pipe handle onramp uses, and node:net.
describe.each(['pipe', 'net'] as const)('the D-Bus check before the keychain library connects (over %s)', (transport) => {
  it.skipIf(process.platform === 'win32')('a bus that accepts but never answers is "unavailable", not a frozen process', async () => {
    const address = await socketServer(false)
    const error = await busAnswers(address, 300, {transport}).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(KeychainUnavailableError)
    expect((error as Error).message).toMatch(/did not answer/)
  })

  it.skipIf(process.platform === 'win32')('a bus that answers passes; no bus at all is "unavailable"', async () => {
    await expect(busAnswers(await socketServer(true), 2000, {transport})).resolves.toBeUndefined()
    await expect(busAnswers('unix:path=/nonexistent/bus', 2000, {transport})).rejects.toThrow(/cannot be reached/)
    await expect(busAnswers(undefined, 2000, {transport})).rejects.toThrow(/DBUS_SESSION_BUS_ADDRESS is not set/)
  })
})
