/**
 * The D-Bus marshalling the plain Secret Service read uses, against bytes worked out by hand from the
 * D-Bus specification (alignment from the message start, strings with their length and NUL, arrays with
 * their byte length after the first element's padding, header fields as a(yv), the body at 8).
 */
import {describe, expect, it} from 'vitest'

import {methodCall, parseSignature, readMessage, Writer, WireError} from '../../../../src/session/keychain/dbus-wire.js'

/** Bytes from hex with spaces and `'text'` runs (ASCII), for readable expectations. */
function bytes(spec: string): Buffer {
  const parts = spec.match(/'[^']*'|[0-9a-f]{2}/g) ?? []
  return Buffer.concat(parts.map((part) => (part.startsWith("'") ? Buffer.from(part.slice(1, -1), 'latin1') : Buffer.from(part, 'hex'))))
}

describe('method calls', () => {
  it('Hello: fixed header, four header fields each at 8, no signature field, padded to 8, empty body', () => {
    const message = methodCall(1, {destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello'}, '', [])
    expect(message.toString('hex')).toBe(
      bytes(`
        6c 01 00 01  00 00 00 00  01 00 00 00  6d 00 00 00
        01 01 'o' 00  15 00 00 00 '/org/freedesktop/DBus' 00  00 00
        02 01 's' 00  14 00 00 00 'org.freedesktop.DBus' 00  00 00 00
        03 01 's' 00  05 00 00 00 'Hello' 00  00 00
        06 01 's' 00  14 00 00 00 'org.freedesktop.DBus' 00  00 00 00
      `).toString('hex'),
    )
    expect(message.length).toBe(128)
  })

  it('OpenSession("plain", <"">): a signature field, then the body: a string and a variant holding an empty string', () => {
    const message = methodCall(2, {destination: 'd', path: '/p', interface: 'i', member: 'm'}, 'sv', ['plain', ['s', '']])
    expect(message.toString('hex')).toBe(
      bytes(`
        6c 01 00 01  15 00 00 00  02 00 00 00  48 00 00 00
        01 01 'o' 00  02 00 00 00 '/p' 00  00 00 00 00 00
        02 01 's' 00  01 00 00 00 'i' 00  00 00 00 00 00 00
        03 01 's' 00  01 00 00 00 'm' 00  00 00 00 00 00 00
        06 01 's' 00  01 00 00 00 'd' 00  00 00 00 00 00 00
        08 01 'g' 00  02 'sv' 00
        05 00 00 00 'plain' 00  01 's' 00  00 00 00  00 00 00 00  00
      `).toString('hex'),
    )
  })

  it('SearchItems(a{ss}) and GetSecrets(aoo): array lengths count from the first element, dict entries at 8', () => {
    const dict = new Writer()
    dict.write(parseSignature('a{ss}')[0]!, [['service', 'onramp'], ['username', 'u']])
    expect(dict.bytes().toString('hex')).toBe(
      bytes(`
        2e 00 00 00  00 00 00 00
        07 00 00 00 'service' 00  06 00 00 00 'onramp' 00  00
        08 00 00 00 'username' 00  00 00 00  01 00 00 00 'u' 00
      `).toString('hex'),
    )
    const paths = new Writer()
    paths.write(parseSignature('ao')[0]!, ['/a', '/bc'])
    paths.write(parseSignature('o')[0]!, '/s')
    expect(paths.bytes().toString('hex')).toBe(bytes(`10 00 00 00  02 00 00 00 '/a' 00  00  03 00 00 00 '/bc' 00  02 00 00 00 '/s' 00`).toString('hex'))
  })
})

/** A reply to serial 3 with signature aoao: (["/a"], []), hand-assembled in either byte order. */
const REPLY_LE = bytes(`
  6c 02 00 01  10 00 00 00  07 00 00 00  12 00 00 00
  05 01 'u' 00  03 00 00 00  08 01 'g' 00  04 'aoao' 00  00 00 00 00 00 00
  07 00 00 00  02 00 00 00 '/a' 00  00  00 00 00 00
`)
const REPLY_BE = bytes(`
  42 02 00 01  00 00 00 10  00 00 00 07  00 00 00 12
  05 01 'u' 00  00 00 00 03  08 01 'g' 00  04 'aoao' 00  00 00 00 00 00 00
  00 00 00 07  00 00 00 02 '/a' 00  00  00 00 00 00
`)

describe('messages received', () => {
  it.each([
    ['little-endian', REPLY_LE],
    ['big-endian', REPLY_BE],
  ])('a method return (%s): its reply serial, signature and body', (_order, reply) => {
    expect(readMessage(reply)).toEqual({message: {type: 2, serial: 7, replySerial: 3, signature: 'aoao', body: [['/a'], []]}, size: 56})
  })

  it('waits for the whole message, and leaves what follows it', () => {
    for (let cut = 0; cut < REPLY_LE.length; cut++) expect(readMessage(REPLY_LE.subarray(0, cut))).toBeUndefined()
    expect(readMessage(Buffer.concat([REPLY_LE, REPLY_LE.subarray(0, 5)]))?.size).toBe(56)
  })

  it('an error reply: its name and message', () => {
    const error = bytes(`
      6c 03 00 01  10 00 00 00  01 00 00 00  27 00 00 00
      04 01 's' 00  0e 00 00 00 'org.x.Error.No' 00  00
      05 01 'u' 00  09 00 00 00  08 01 'g' 00  01 's' 00  00
      0b 00 00 00 'not running' 00
    `)
    expect(readMessage(error)?.message).toEqual({type: 3, serial: 1, replySerial: 9, errorName: 'org.x.Error.No', signature: 's', body: ['not running']})
  })

  it('GetSecrets\' a{o(oayays)}: the secret bytes as a Buffer', () => {
    const body = new Writer()
    body.write(parseSignature('a{o(oayays)}')[0]!, [['/item', ['/session', Buffer.alloc(0), Buffer.from('s3cr\u00e9t'), 'text/plain']]])
    const header = bytes(`6c 02 00 01  ${hexU32(body.length)}  05 00 00 00  1a 00 00 00  05 01 'u' 00  02 00 00 00  08 01 'g' 00  0c 'a{o(oayays)}' 00  00 00 00 00 00 00`)
    const {message} = readMessage(Buffer.concat([header, body.bytes()]))!
    const [entries] = message.body as [[string, [string, Buffer, Buffer, string]][]]
    const [item, [session, parameters, value, type]] = entries[0]!
    expect([item, session, parameters.length, value.toString('utf8'), type]).toEqual(['/item', '/session', 0, 's3cr\u00e9t', 'text/plain'])
  })

  it('refuses what no bus sends: another byte order mark or version, a body that does not match its signature, a length past the cap', () => {
    expect(() => readMessage(Buffer.concat([Buffer.from('x'), REPLY_LE.subarray(1)]))).toThrow(WireError)
    expect(() => readMessage(Buffer.concat([REPLY_LE.subarray(0, 3), Buffer.from([2]), REPLY_LE.subarray(4)]))).toThrow(WireError)
    const short = Buffer.from(REPLY_LE)
    short.writeUInt32LE(0x08, 40) // the first array claims 8 bytes, running into the second
    expect(() => readMessage(short)).toThrow(WireError)
    const huge = Buffer.from(REPLY_LE)
    huge.writeUInt32LE(0x7fffffff, 4)
    expect(() => readMessage(huge)).toThrow(/bytes/)
  })

  it('signatures: complete types only', () => {
    expect(parseSignature('a{o(oayays)}')).toHaveLength(1)
    expect(parseSignature('aoao')).toHaveLength(2)
    for (const bad of ['a', '(', '()', '{s}', '{sss}', 'z', 'a{ss']) expect(() => parseSignature(bad), bad).toThrow(WireError)
    expect(() => parseSignature(`${'a'.repeat(70)}y`)).toThrow(/deeply/)
  })
})

function hexU32(value: number): string {
  const buffer = Buffer.alloc(4)
  buffer.writeUInt32LE(value)
  return buffer.toString('hex')
}
