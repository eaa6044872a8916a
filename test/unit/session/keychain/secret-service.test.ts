/**
 * The plain Secret Service read against a fake session bus on a unix socket: what it reads when all is
 * usual, and "undecided" (undefined: the keychain library reads instead) for everything else. Only a bus
 * silent until the deadline is an error, and every connection is closed whatever happened.
 */
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {KeychainTimeoutError, KeychainUnavailableError} from '../../../../src/session/keychain/backend.js'
import {parseSignature, readMessage, Writer, type Variant} from '../../../../src/session/keychain/dbus-wire.js'
import {readPlain} from '../../../../src/session/keychain/secret-service.js'

const SESSION_PATH = '/org/freedesktop/secrets/session/s1'

interface Item {
  username: string
  secret: Buffer | string
  locked?: boolean
  service?: string
}

/** What the fake answers to one call: a reply (signature, values), an error, nothing, or raw bytes. */
type Answer = {reply: [string, unknown[]]} | {error: string} | 'silent' | 'close' | {raw: Buffer}

interface FakeBus {
  address: string
  items: Item[]
  calls: string[]
  /** Open connections right now (every readPlain must close its own). */
  open: () => number
  /** Replaces the usual answer to a member. */
  override: Map<string, (body: unknown[]) => Answer>
}

let cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups) cleanup()
  cleanups = []
})

function message(type: number, fields: [number, Variant][], signature: string, values: unknown[], serial: number): Buffer {
  const body = new Writer()
  parseSignature(signature).forEach((type, index) => body.write(type, values[index]))
  const head = new Writer()
  for (const byte of [0x6c, type, 0, 1]) head.byte(byte)
  head.u32(body.length)
  head.u32(serial)
  head.write(parseSignature('a(yv)')[0]!, signature ? [...fields, [8, ['g', signature]]] : fields)
  head.pad(8)
  return Buffer.concat([head.bytes(), body.bytes()])
}

/** A session bus with a Secret Service holding `items`; `auth` decides the handshake's answer. */
async function fakeBus({items = [], auth = 'OK 1234abcd'}: {items?: Item[]; auth?: string | 'silent'} = {}): Promise<FakeBus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-fake-bus-'))
  const file = path.join(dir, 'bus')
  const sockets = new Set<net.Socket>()
  let serial = 100
  const bus: FakeBus = {address: `unix:path=${file}`, items, calls: [], open: () => sockets.size, override: new Map()}
  const paths = () => bus.items.map((_, index) => `/org/freedesktop/secrets/collection/login/${index + 1}`)

  const usual = (member: string, body: unknown[]): Answer => {
    if (member === 'Hello') return {reply: ['s', [':1.42']]}
    if (member === 'OpenSession') return body[0] === 'plain' ? {reply: ['vo', [['s', ''], SESSION_PATH]]} : {error: 'org.freedesktop.DBus.Error.NotSupported'}
    if (member === 'SearchItems') {
      const wanted = new Map(body[0] as [string, string][])
      const found = bus.items.map((item, index) => ({item, path: paths()[index]!})).filter(({item}) => wanted.get('service') === (item.service ?? 'onramp') && wanted.get('username') === item.username)
      return {reply: ['aoao', [found.filter(({item}) => !item.locked).map(({path}) => path), found.filter(({item}) => item.locked).map(({path}) => path)]]}
    }
    if (member === 'GetSecrets') {
      const [wanted, session] = body as [string[], string]
      const entries = wanted.flatMap((wantedPath) => {
        const item = bus.items[paths().indexOf(wantedPath)]
        return item && !item.locked ? [[wantedPath, [session, Buffer.alloc(0), Buffer.from(item.secret), 'text/plain']]] : []
      })
      return {reply: ['a{o(oayays)}', [entries]]}
    }
    return {error: 'org.freedesktop.DBus.Error.UnknownMethod'}
  }

  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    let received = Buffer.alloc(0)
    let begun = false
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk])
      if (auth === 'silent') return // a wedged bus: not a byte back, whatever comes
      if (!begun) {
        // The handshake, a line at a time: AUTH EXTERNAL <hex uid> (answered with `auth`), then BEGIN.
        for (let line = received.indexOf('\r\n'); line >= 0 && !begun; line = received.indexOf('\r\n')) {
          const text = received.subarray(0, line).toString('latin1')
          received = received.subarray(line + 2)
          if (text === 'BEGIN') begun = true
          else if (/^\0AUTH EXTERNAL [0-9a-f]+$/.test(text)) socket.write(`${auth}\r\n`)
        }
        if (!begun) return
      }
      for (let next = readMessage(received); next; next = readMessage(received)) {
        received = received.subarray(next.size)
        const member = next.message.member ?? '?'
        bus.calls.push(member)
        const answer = (bus.override.get(member) ?? ((body: unknown[]) => usual(member, body)))(next.message.body)
        if (member === 'Hello') socket.write(message(4, [[1, ['o', '/org/freedesktop/DBus']], [2, ['s', 'org.freedesktop.DBus']], [3, ['s', 'NameAcquired']]], 's', [':1.42'], serial++))
        if (answer === 'silent') continue
        if (answer === 'close') {
          socket.destroy()
          return
        }
        if ('raw' in answer) socket.write(answer.raw)
        else if ('error' in answer) socket.write(message(3, [[5, ['u', next.message.serial]], [4, ['s', answer.error]]], 's', ['refused'], serial++))
        else socket.write(message(2, [[5, ['u', next.message.serial]]], answer.reply[0], answer.reply[1], serial++))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(file, resolve))
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
    fs.rmSync(dir, {recursive: true, force: true})
  })
  return bus
}

/** Every case runs over both ways to the socket (unix-stream.ts): the Pipe handle onramp uses, and node:net. */
let transport: 'pipe' | 'net' = 'pipe'
const read = (bus: FakeBus, account: string, timeoutMs = 5000) => readPlain(account, {address: bus.address, timeoutMs, transport})
const closed = async (bus: FakeBus) => {
  for (let wait = 0; wait < 50 && bus.open() > 0; wait++) await new Promise((resolve) => setTimeout(resolve, 10))
  return bus.open() === 0
}

describe.skipIf(process.platform === 'win32').each(['pipe', 'net'] as const)('the plain Secret Service read (over %s)', (kind) => {
  beforeEach(() => {
    transport = kind
  })

  it('reads an entry in one search and one GetSecrets, as UTF-8 text kept byte for byte (a BOM too), and closes its connection', async () => {
    const value = '\ufeff{"access_token":"pha_\u00e9\ud83d\ude00"}'
    const bus = await fakeBus({items: [{username: 'other', secret: 'x'}, {username: 'acct', secret: value}]})
    await expect(read(bus, 'acct')).resolves.toEqual(new Map([['acct', value]]))
    expect(bus.calls).toEqual(['Hello', 'SearchItems', 'OpenSession', 'GetSecrets'])
    expect(await closed(bus)).toBe(true)
  })

  it('reads a split entry: its header, then every part in one GetSecrets', async () => {
    const bus = await fakeBus({
      items: [
        {username: 'acct', secret: 'onramp-parts:v1:ab12:3'},
        {username: 'acct#part:ab12:0', secret: 'one-'},
        {username: 'acct#part:ab12:1', secret: 'two-'},
        {username: 'acct#part:ab12:2', secret: 'three'},
        {username: 'acct#part:0ld:0', secret: 'stale'},
      ],
    })
    await expect(read(bus, 'acct')).resolves.toEqual(
      new Map([
        ['acct', 'onramp-parts:v1:ab12:3'],
        ['acct#part:ab12:0', 'one-'],
        ['acct#part:ab12:1', 'two-'],
        ['acct#part:ab12:2', 'three'],
      ]),
    )
    expect(bus.calls).toEqual(['Hello', 'SearchItems', 'OpenSession', 'GetSecrets', 'SearchItems', 'SearchItems', 'SearchItems', 'GetSecrets'])
  })

  describe('undecided (undefined) for anything unusual, its connection closed', () => {
    const item = {username: 'acct', secret: '{"access_token":"a"}'}
    it.each<[string, () => Promise<FakeBus>]>([
      ['the item missing', () => fakeBus({items: []})],
      ['the item locked', () => fakeBus({items: [{...item, locked: true}]})],
      ['the item found twice', () => fakeBus({items: [item, item]})],
      ['found unlocked and locked', () => fakeBus({items: [item, {...item, locked: true}]})],
      ['a part missing', () => fakeBus({items: [{username: 'acct', secret: 'onramp-parts:v1:ab:2'}, {username: 'acct#part:ab:0', secret: 'x'}]})],
      ['a part locked', () => fakeBus({items: [{username: 'acct', secret: 'onramp-parts:v1:ab:2'}, {username: 'acct#part:ab:0', secret: 'x'}, {username: 'acct#part:ab:1', secret: 'y', locked: true}]})],
      ['a secret that is not UTF-8', () => fakeBus({items: [{...item, secret: Buffer.from([0x7b, 0xff, 0x7d])}]})],
      ['auth rejected', () => fakeBus({items: [item], auth: 'REJECTED EXTERNAL'})],
      ['no Secret Service on the bus (an error reply)', async () => withOverride(await fakeBus({items: [item]}), 'OpenSession', () => ({error: 'org.freedesktop.DBus.Error.ServiceUnknown'}))],
      ['an error reply to GetSecrets', async () => withOverride(await fakeBus({items: [item]}), 'GetSecrets', () => ({error: 'org.freedesktop.Secret.Error.IsLocked'}))],
      ['a reply of another signature', async () => withOverride(await fakeBus({items: [item]}), 'SearchItems', () => ({reply: ['ao', [['/x']]]}))],
      ['GetSecrets leaving the item out', async () => withOverride(await fakeBus({items: [item]}), 'GetSecrets', () => ({reply: ['a{o(oayays)}', [[]]]}))],
      ['a secret of another session', async () => withOverride(await fakeBus({items: [item]}), 'GetSecrets', () => ({reply: ['a{o(oayays)}', [[['/org/freedesktop/secrets/collection/login/1', ['/other', Buffer.alloc(0), Buffer.from('x'), 'text/plain']]]]]}))],
      ['the bus closing the connection before a reply', async () => withOverride(await fakeBus({items: [item]}), 'GetSecrets', () => 'close')],
      ['bytes no bus sends', async () => withOverride(await fakeBus({items: [item]}), 'SearchItems', () => ({raw: Buffer.from('garbage that is no message at all')}))],
    ])('%s', async (_case, makeBus) => {
      const bus = await makeBus()
      await expect(read(bus, 'acct')).resolves.toBeUndefined()
      expect(await closed(bus)).toBe(true)
    })

    it('no bus address, or one that is not a unix socket; nothing listening', async () => {
      await expect(readPlain('acct', {address: undefined, transport})).resolves.toBeUndefined()
      await expect(readPlain('acct', {address: 'tcp:host=localhost,port=1', transport})).resolves.toBeUndefined()
      await expect(readPlain('acct', {address: 'unix:path=/nonexistent/onramp-bus', transport})).resolves.toBeUndefined()
    })

  })

  it('a bus that accepts and never answers the handshake: the bus check\'s "did not answer", at the deadline, connection closed', async () => {
    const bus = await fakeBus({items: [], auth: 'silent'})
    const started = Date.now()
    const error = await read(bus, 'acct', 300).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(KeychainUnavailableError)
    expect(error).not.toBeInstanceOf(KeychainTimeoutError)
    expect((error as Error).message).toMatch(new RegExp(`the D-Bus session bus at unix:path=.*bus did not answer within 0 s`))
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    expect(await closed(bus)).toBe(true)
  })

  it('opens its session only after the Secret Service answered the search (gnome-keyring 42 aborts on a first call that is OpenSession), and none when the search finds nothing usable', async () => {
    const unanswered = withOverride(await fakeBus({items: [{username: 'acct', secret: 'x'}]}), 'SearchItems', () => 'silent')
    await expect(read(unanswered, 'acct', 1500)).rejects.toBeInstanceOf(KeychainTimeoutError)
    expect(unanswered.calls).toEqual(['Hello', 'SearchItems'])
    const empty = await fakeBus({items: []})
    await expect(read(empty, 'acct')).resolves.toBeUndefined()
    expect(empty.calls).toEqual(['Hello', 'SearchItems'])
  })

  it('a Secret Service that stops answering after the handshake: a timeout (not tried again), connection closed', async () => {
    const bus = withOverride(await fakeBus({items: [{username: 'acct', secret: 'x'}]}), 'GetSecrets', () => 'silent')
    const error = await read(bus, 'acct', 1500).catch((caught: unknown) => caught) // the handshake must be over by then
    expect(error).toBeInstanceOf(KeychainTimeoutError)
    expect((error as Error).message).toMatch(/Secret Service did not answer within/)
    expect(await closed(bus)).toBe(true)
  })
})

function withOverride(bus: FakeBus, member: string, answer: (body: unknown[]) => Answer): FakeBus {
  bus.override.set(member, answer)
  return bus
}
