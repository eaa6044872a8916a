/**
 * The D-Bus wire format, as much of it as the plain Secret Service read (secret-service.ts) needs: method
 * calls out (little-endian), any message in (either byte order; bodies read by their signature), framing.
 * Hand-written rather than a D-Bus library: this is all of it, and a library costs `onramp token` its
 * start-up time. Malformed input throws (a RangeError reading past the end, or WireError).
 */

export class WireError extends Error {}

/** One complete type of a signature: its code and, for arrays, structs and dict entries, its members. */
export interface WireType {
  code: string
  members: WireType[]
}

const ALIGNMENT: Record<string, number> = {y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, x: 8, t: 8, d: 8, h: 4, s: 4, o: 4, g: 1, v: 1, a: 4, '(': 8, '{': 8}
/** Deeper than the spec allows (32 arrays + 32 structs): refused, so hostile input cannot recurse for ever. */
const MAX_DEPTH = 64

/** The complete types of a signature, in order. */
export function parseSignature(signature: string): WireType[] {
  let at = 0
  const one = (depth: number): WireType => {
    if (depth > MAX_DEPTH) throw new WireError(`signature nested too deeply: ${signature}`)
    const code = signature[at++]
    if (code === 'a') return {code, members: [one(depth + 1)]}
    if (code === '(' || code === '{') {
      const close = code === '(' ? ')' : '}'
      const members: WireType[] = []
      while (at < signature.length && signature[at] !== close) members.push(one(depth + 1))
      if (signature[at++] !== close || members.length === 0 || (code === '{' && members.length !== 2)) throw new WireError(`bad signature: ${signature}`)
      return {code, members}
    }
    if (code === undefined || !(code in ALIGNMENT)) throw new WireError(`bad signature: ${signature}`)
    return {code, members: []}
  }
  const types: WireType[] = []
  while (at < signature.length) types.push(one(0))
  return types
}

/** A variant's value as written: its signature (one complete type) and the value. */
export type Variant = [signature: string, value: unknown]

/** Writes values by type, little-endian, aligned from the start of the message. */
export class Writer {
  private buffer = Buffer.alloc(256)
  length = 0

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length)
  }

  pad(alignment: number): void {
    this.room(alignment)
    while (this.length % alignment !== 0) this.buffer[this.length++] = 0
  }

  byte(value: number): void {
    this.room(1)
    this.buffer[this.length++] = value
  }

  u32(value: number): void {
    this.pad(4)
    this.room(4)
    this.buffer.writeUInt32LE(value, this.length)
    this.length += 4
  }

  write(type: WireType, value: unknown): void {
    switch (type.code) {
      case 'y':
        return this.byte(value as number)
      case 'b':
        return this.u32(value ? 1 : 0)
      case 'u':
        return this.u32(value as number)
      case 'i':
        this.pad(4)
        this.room(4)
        this.buffer.writeInt32LE(value as number, this.length)
        this.length += 4
        return
      case 's':
      case 'o': {
        const text = Buffer.from(value as string, 'utf8')
        this.u32(text.length)
        this.raw(text)
        return this.byte(0)
      }
      case 'g': {
        const text = Buffer.from(value as string, 'latin1')
        this.byte(text.length)
        this.raw(text)
        return this.byte(0)
      }
      case 'v': {
        const [signature, inner] = value as Variant
        const types = parseSignature(signature)
        if (types.length !== 1) throw new WireError(`a variant holds one complete type, not ${signature}`)
        this.write({code: 'g', members: []}, signature)
        return this.write(types[0]!, inner)
      }
      case 'a': {
        const element = type.members[0]!
        this.u32(0) // the length, in bytes from the first element (after its padding), filled in below
        const lengthAt = this.length - 4
        this.pad(ALIGNMENT[element.code]!)
        const start = this.length
        for (const item of value as unknown[]) this.write(element, item)
        this.buffer.writeUInt32LE(this.length - start, lengthAt)
        return
      }
      case '(':
      case '{': {
        this.pad(8)
        const fields = value as unknown[]
        type.members.forEach((member, index) => this.write(member, fields[index]))
        return
      }
      default:
        throw new WireError(`cannot write type ${type.code}`)
    }
  }

  private raw(bytes: Buffer): void {
    this.room(bytes.length)
    bytes.copy(this.buffer, this.length)
    this.length += bytes.length
  }

  private room(size: number): void {
    if (this.length + size <= this.buffer.length) return
    const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + size))
    this.buffer.copy(grown, 0, 0, this.length)
    this.buffer = grown
  }
}

/**
 * Reads values by type from `buffer` (aligned from its start: a whole message, or a body, which starts on
 * an 8-byte boundary). Strings and object paths as text, arrays of bytes as a Buffer (a view), variants
 * as their value, 64-bit numbers as bigint.
 */
export class Reader {
  constructor(
    private readonly buffer: Buffer,
    private readonly littleEndian: boolean,
    public at = 0,
  ) {}

  get done(): boolean {
    return this.at === this.buffer.length
  }

  read(type: WireType, depth = 0): unknown {
    if (depth > MAX_DEPTH) throw new WireError('value nested too deeply')
    const b = this.buffer
    const le = this.littleEndian
    this.align(ALIGNMENT[type.code] ?? 1)
    const fixed = <T>(size: number, value: (at: number) => T): T => {
      if (this.at + size > b.length) throw new WireError('value runs past the end of the message')
      const result = value(this.at)
      this.at += size
      return result
    }
    switch (type.code) {
      case 'y':
        return fixed(1, (at) => b.readUInt8(at))
      case 'b': {
        const value = fixed(4, (at) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at)))
        if (value > 1) throw new WireError(`boolean ${value}`)
        return value === 1
      }
      case 'n':
        return fixed(2, (at) => (le ? b.readInt16LE(at) : b.readInt16BE(at)))
      case 'q':
        return fixed(2, (at) => (le ? b.readUInt16LE(at) : b.readUInt16BE(at)))
      case 'i':
        return fixed(4, (at) => (le ? b.readInt32LE(at) : b.readInt32BE(at)))
      case 'u':
      case 'h':
        return fixed(4, (at) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at)))
      case 'x':
        return fixed(8, (at) => (le ? b.readBigInt64LE(at) : b.readBigInt64BE(at)))
      case 't':
        return fixed(8, (at) => (le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at)))
      case 'd':
        return fixed(8, (at) => (le ? b.readDoubleLE(at) : b.readDoubleBE(at)))
      case 's':
      case 'o': {
        const size = this.read({code: 'u', members: []}) as number
        return this.text(size, 'utf8')
      }
      case 'g':
        return this.text(fixed(1, (at) => b.readUInt8(at)), 'latin1')
      case 'v': {
        const types = parseSignature(this.read({code: 'g', members: []}) as string)
        if (types.length !== 1) throw new WireError('a variant holding other than one complete type')
        return this.read(types[0]!, depth + 1)
      }
      case 'a': {
        const size = this.read({code: 'u', members: []}) as number
        const element = type.members[0]!
        this.align(ALIGNMENT[element.code]!)
        const end = this.at + size
        if (end > b.length) throw new WireError('array runs past the end of the message')
        if (element.code === 'y') {
          const bytes = b.subarray(this.at, end)
          this.at = end
          return bytes
        }
        const items: unknown[] = []
        while (this.at < end) items.push(this.read(element, depth + 1))
        if (this.at !== end) throw new WireError('array elements overrun its length')
        return items
      }
      case '(':
      case '{':
        return type.members.map((member) => this.read(member, depth + 1))
      default:
        throw new WireError(`cannot read type ${type.code}`)
    }
  }

  private align(alignment: number): void {
    const padded = Math.ceil(this.at / alignment) * alignment
    if (padded > this.buffer.length) throw new WireError('padding runs past the end of the message')
    this.at = padded
  }

  private text(size: number, encoding: 'utf8' | 'latin1'): string {
    if (this.at + size + 1 > this.buffer.length || this.buffer[this.at + size] !== 0) throw new WireError('string without its terminating NUL')
    const value = this.buffer.toString(encoding, this.at, this.at + size)
    this.at += size + 1
    return value
  }
}

export const MESSAGE = {call: 1, reply: 2, error: 3, signal: 4} as const
const FIELD = {path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, sender: 7, signature: 8} as const
const HEADER_FIELDS = parseSignature('a(yv)')[0]!
/** Far above anything the Secret Service sends onramp; a length beyond it is not a bus talking. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024

export interface MethodCall {
  destination: string
  path: string
  interface: string
  member: string
}

/** A method call message: fixed header, header fields, padding to 8, then the body. */
export function methodCall(serial: number, call: MethodCall, signature: string, args: unknown[]): Buffer {
  const body = new Writer()
  const types = parseSignature(signature)
  if (types.length !== args.length) throw new WireError(`${call.member}: ${args.length} arguments for signature ${signature}`)
  types.forEach((type, index) => body.write(type, args[index]))
  const message = new Writer()
  message.byte(0x6c) // 'l': little-endian
  message.byte(MESSAGE.call)
  message.byte(0) // flags: a reply is expected
  message.byte(1) // protocol version
  message.u32(body.length)
  message.u32(serial)
  const fields: [number, Variant][] = [
    [FIELD.path, ['o', call.path]],
    [FIELD.interface, ['s', call.interface]],
    [FIELD.member, ['s', call.member]],
    [FIELD.destination, ['s', call.destination]],
  ]
  if (signature) fields.push([FIELD.signature, ['g', signature]])
  message.write(HEADER_FIELDS, fields)
  message.pad(8)
  return Buffer.concat([message.bytes(), body.bytes()])
}

/** A message received: replies and errors name the call they answer; the body is read by its signature. */
export interface Message {
  type: number
  serial: number
  replySerial?: number
  errorName?: string
  /** A call's or signal's member */
  member?: string
  signature: string
  body: unknown[]
}

/**
 * The first whole message in `buffer` and its size in bytes, or undefined while more bytes are needed.
 * Throws on what no bus sends (unknown byte order or version, a message over MAX_MESSAGE_BYTES, a body
 * not matching its signature).
 */
export function readMessage(buffer: Buffer): {message: Message; size: number} | undefined {
  if (buffer.length < 16) return undefined
  const endian = buffer[0]
  if (endian !== 0x6c && endian !== 0x42) throw new WireError(`not a D-Bus message (byte order ${endian})`)
  if (buffer[3] !== 1) throw new WireError(`D-Bus protocol version ${buffer[3]}`)
  const le = endian === 0x6c
  const bodySize = le ? buffer.readUInt32LE(4) : buffer.readUInt32BE(4)
  const fieldsSize = le ? buffer.readUInt32LE(12) : buffer.readUInt32BE(12)
  const bodyStart = Math.ceil((16 + fieldsSize) / 8) * 8
  const size = bodyStart + bodySize
  if (size > MAX_MESSAGE_BYTES) throw new WireError(`a D-Bus message of ${size} bytes`)
  if (buffer.length < size) return undefined
  const header = new Reader(buffer.subarray(0, bodyStart), le, 12)
  const fields = new Map((header.read(HEADER_FIELDS) as [number, unknown][]).map(([code, value]) => [code, value]))
  const signature = fields.get(FIELD.signature) ?? ''
  const replySerial = fields.get(FIELD.replySerial)
  const errorName = fields.get(FIELD.errorName)
  const member = fields.get(FIELD.member)
  if (
    typeof signature !== 'string' ||
    (replySerial !== undefined && typeof replySerial !== 'number') ||
    (errorName !== undefined && typeof errorName !== 'string') ||
    (member !== undefined && typeof member !== 'string')
  ) {
    throw new WireError('header fields of the wrong type')
  }
  const reader = new Reader(buffer.subarray(bodyStart, size), le)
  const body = parseSignature(signature).map((type) => reader.read(type))
  if (!reader.done) throw new WireError('body longer than its signature')
  const message: Message = {type: buffer[1]!, serial: le ? buffer.readUInt32LE(8) : buffer.readUInt32BE(8), signature, body}
  if (replySerial !== undefined) message.replySerial = replySerial
  if (errorName !== undefined) message.errorName = errorName
  if (member !== undefined) message.member = member
  return {message, size}
}
