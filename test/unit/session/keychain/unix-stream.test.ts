/**
 * unix-stream.ts: the same byte stream over the Pipe handle onramp uses and over node:net (its fallback),
 * against a real unix socket server: writes queued before the connection are sent in order, large
 * writes arrive whole, the other side's close and a failed connection are one `end`, and nothing is
 * called after destroy().
 */
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {openUnixStream, type UnixStream} from '../../../../src/session/keychain/unix-stream.js'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

/** An echo server (or one that closes at once) on a unix socket, or on a Linux abstract name. */
async function server({close = false, abstract = false} = {}): Promise<{target: string; received: () => Buffer; connections: () => number}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-unix-stream-'))
  const target = abstract ? `\0onramp-unix-stream-${randomBytes(6).toString('hex')}` : path.join(dir, 'socket')
  const chunks: Buffer[] = []
  const sockets: net.Socket[] = []
  const listening = net.createServer((socket) => {
    sockets.push(socket)
    if (close) return void socket.end()
    socket.on('data', (chunk) => {
      chunks.push(chunk)
      socket.write(chunk)
    })
  })
  await new Promise<void>((resolve) => listening.listen(target, resolve))
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy()
    listening.close()
    fs.rmSync(dir, {recursive: true, force: true})
  })
  return {target, received: () => Buffer.concat(chunks), connections: () => sockets.length}
}

/** Opens a stream and collects what it reads until `until` holds, or it ends; `ends()` counts its ends. */
function collect(target: string, transport: 'pipe' | 'net', until: (read: Buffer) => boolean = () => false) {
  let stream: UnixStream | undefined
  let read = Buffer.alloc(0)
  let ends = 0
  const ended = new Promise<{read: Buffer; error?: Error}>((resolve) => {
    stream = openUnixStream(
      target,
      {
        data: (chunk) => {
          read = Buffer.concat([read, chunk])
          if (until(read)) resolve({read})
        },
        end: (error) => {
          ends++
          resolve({read, ...(error ? {error} : {})})
        },
      },
      {transport},
    )
  })
  // The way asked for, not a silent fallback (Node 20, 22 and 24 all have the Pipe handle).
  expect(stream!.kind).toBe(transport)
  return {stream: stream!, ended, ends: () => ends}
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50))

describe.skipIf(process.platform === 'win32').each(['pipe', 'net'] as const)('a unix socket stream over %s', (transport) => {
  it('sends writes made before the connection in order, and reads back a large echo whole', async () => {
    const {target, received} = await server()
    const big = randomBytes(3 * 1024 * 1024)
    const expected = Buffer.concat([Buffer.from('\0AUTH\r\n', 'latin1'), Buffer.from('second'), big])
    const {stream, ended} = collect(target, transport, (read) => read.length >= expected.length)
    stream.write('\0AUTH\r\n')
    stream.write(Buffer.from('second'))
    stream.write(big)
    const {read, error} = await ended
    expect(error).toBeUndefined()
    expect(read.equals(expected)).toBe(true)
    expect(received().equals(expected)).toBe(true)
    stream.destroy()
  })

  it('the other side closing is one end without an error', async () => {
    const {target} = await server({close: true})
    const {ended, ends} = collect(target, transport)
    const {error, read} = await ended
    expect(error).toBeUndefined()
    expect(read.length).toBe(0)
    await settle()
    expect(ends()).toBe(1)
  })

  it('nothing listening is one end with the errno and the path', async () => {
    const target = path.join(os.tmpdir(), `onramp-no-socket-${randomBytes(6).toString('hex')}`)
    const {ended, ends} = collect(target, transport)
    const {error} = await ended
    expect(error?.message).toMatch(/ENOENT/)
    expect(error?.message).toContain(target)
    await settle()
    expect(ends()).toBe(1)
  })

  it.skipIf(process.platform !== 'linux')('reaches an abstract socket (a leading NUL), as D-Bus addresses may name one', async () => {
    const {target} = await server({abstract: true})
    const {stream, ended} = collect(target, transport, (read) => read.toString() === 'ping')
    stream.write('ping')
    expect((await ended).read.toString()).toBe('ping')
    stream.destroy()
  })

  it('after destroy(), nothing is called: not the echo, not the close', async () => {
    const {target, connections} = await server()
    let calls = 0
    const stream = openUnixStream(target, {data: () => calls++, end: () => calls++}, {transport})
    stream.write('hello')
    stream.destroy()
    stream.write('ignored')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(calls).toBe(0)
    expect(connections()).toBeLessThanOrEqual(1)
  })
})
