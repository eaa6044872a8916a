import type {Socket} from 'node:net'

/*
 * A byte stream to a Unix socket (the D-Bus session bus), for the keychain's bus check and plain read.
 *
 * node:net is the public way, but with the stream modules it loads, compiles and runs it costs a keychain
 * `onramp token` 3 to 5 ms of CPU on Node 22 (a fifth of Node's own start-up; profiled: module compile,
 * net, streams and the garbage collection they cause). The handle net itself wraps, `Pipe` of
 * process.binding('pipe_wrap') (kept, on an allowlist, for userland; deprecated in the documentation only,
 * with a warning only under --pending-deprecation), costs nothing measurable. So that handle is used, with
 * what net does around it reduced to this one use (connect, write, read, close), and node:net is the
 * fallback wherever the handle is not there or not as expected, or asking for it warns.
 */

export interface UnixStream {
  /** Which way it went: the Pipe handle, or node:net. */
  readonly kind: 'pipe' | 'net'
  /** Queued until connected; written in order. A string is written as Latin-1 (onramp writes only ASCII). */
  write(data: Buffer | string): void
  /** Closes the socket; no callback runs after it. */
  destroy(): void
}

export interface UnixStreamEvents {
  data(chunk: Buffer): void
  /** Once: the other side closed (no error) or the connection failed. Not after destroy(). */
  end(error?: Error): void
}

/**
 * `target`: a socket path, or (leading NUL) a Linux abstract socket name. `transport`: 'pipe' (the Pipe
 * handle where usable, else node:net) or 'net' (node:net only; tests run both).
 */
export function openUnixStream(target: string, on: UnixStreamEvents, {transport = 'pipe'}: {transport?: 'pipe' | 'net' | undefined} = {}): UnixStream {
  const pipe = transport === 'pipe' ? pipeBindings() : undefined
  if (pipe) {
    try {
      return pipeStream(pipe, target, on)
    } catch {
      bindings = null // a handle that does not take net's calls: node:net from now on
    }
  }
  return netStream(target, on)
}

// ---- node:net

function netStream(target: string, on: UnixStreamEvents): UnixStream {
  const net = process.getBuiltinModule('node:net')
  const socket: Socket = net.connect(target)
  let open = true
  const end = (error?: Error) => {
    if (!open) return
    open = false
    on.end(error)
  }
  socket.on('data', (chunk: Buffer) => open && on.data(chunk))
  socket.on('error', (error) => end(error))
  socket.on('close', () => end())
  return {
    kind: 'net',
    write: (data) => void (typeof data === 'string' ? socket.write(data, 'latin1') : socket.write(data)),
    destroy: () => {
      open = false
      socket.destroy()
    },
  }
}

// ---- the Pipe handle

interface PipeHandle {
  connect(req: object, address: string): number
  readStart(): number
  readStop(): number
  writeBuffer(req: object, data: Buffer): number
  writeLatin1String(req: object, data: string): number
  close(callback?: () => void): void
  onread: ((buffer: ArrayBuffer | undefined) => void) | null
}

interface PipeBindings {
  Pipe: new (type: number) => PipeHandle
  PipeConnectWrap: new () => {oncomplete?: (status: number) => void}
  WriteWrap: new () => {handle?: PipeHandle; oncomplete?: (status: number) => void; async?: boolean; buffer?: unknown}
  SOCKET: number
  state: Int32Array
  kReadBytesOrError: number
  kArrayBufferOffset: number
}

const UV_EOF = -4095

let bindings: PipeBindings | null | undefined

/**
 * The handle's classes and the shared read state; undefined (then node:net) when anything is missing or
 * unlike net's own use, or when asking warns (--pending-deprecation, NODE_PENDING_DEPRECATION=1, or a Node
 * that deprecates these bindings at run time): that warning is held back, and the bindings left unused.
 */
function pipeBindings(): PipeBindings | undefined {
  if (bindings === undefined) {
    const emitWarning = process.emitWarning
    let warned = false
    process.emitWarning = (() => {
      warned = true
    }) as typeof process.emitWarning
    try {
      const binding = (process as unknown as {binding: (name: string) => Record<string, unknown>}).binding
      const pipe = binding('pipe_wrap') as {Pipe?: unknown; PipeConnectWrap?: unknown; constants?: {SOCKET?: unknown}}
      const stream = binding('stream_wrap') as {WriteWrap?: unknown; streamBaseState?: unknown; kReadBytesOrError?: unknown; kArrayBufferOffset?: unknown}
      const ok =
        !warned &&
        typeof pipe.Pipe === 'function' &&
        typeof pipe.PipeConnectWrap === 'function' &&
        typeof pipe.constants?.SOCKET === 'number' &&
        typeof stream.WriteWrap === 'function' &&
        stream.streamBaseState instanceof Int32Array &&
        typeof stream.kReadBytesOrError === 'number' &&
        typeof stream.kArrayBufferOffset === 'number'
      bindings = ok
        ? {
            Pipe: pipe.Pipe as PipeBindings['Pipe'],
            PipeConnectWrap: pipe.PipeConnectWrap as PipeBindings['PipeConnectWrap'],
            WriteWrap: stream.WriteWrap as PipeBindings['WriteWrap'],
            SOCKET: pipe.constants!.SOCKET as number,
            state: stream.streamBaseState as Int32Array,
            kReadBytesOrError: stream.kReadBytesOrError as number,
            kArrayBufferOffset: stream.kArrayBufferOffset as number,
          }
        : null
    } catch {
      bindings = null
    } finally {
      process.emitWarning = emitWarning
    }
  }
  return bindings ?? undefined
}

function pipeStream(b: PipeBindings, target: string, on: UnixStreamEvents): UnixStream {
  const handle = new b.Pipe(b.SOCKET)
  try {
    return pipeStreamOn(b, handle, target, on)
  } catch (error) {
    handle.close() // not left open (and keeping the process alive) when the fallback takes over
    throw error
  }
}

function pipeStreamOn(b: PipeBindings, handle: PipeHandle, target: string, on: UnixStreamEvents): UnixStream {
  let queued: (Buffer | string)[] | undefined = []
  let open = true

  const end = (error?: Error) => {
    if (!open) return
    open = false
    handle.close()
    on.end(error)
  }
  const failed = (what: string, status: number) => end(new Error(`${what} ${process.getBuiltinModule('node:util').getSystemErrorName(status)} ${target.replace(/\0/g, '@')}`))
  const send = (data: Buffer | string) => {
    const req = new b.WriteWrap()
    req.handle = handle
    req.async = false
    req.buffer = data // referenced until the write completes, as net does
    req.oncomplete = (status) => status < 0 && failed('write', status)
    const status = typeof data === 'string' ? handle.writeLatin1String(req, data) : handle.writeBuffer(req, data)
    if (status < 0) failed('write', status)
  }

  handle.onread = (buffer) => {
    if (!open) return
    const read = b.state[b.kReadBytesOrError]!
    if (read > 0 && buffer) on.data(Buffer.from(buffer, b.state[b.kArrayBufferOffset]!, read))
    else if (read === UV_EOF) end()
    else if (read < 0) failed('read', read)
  }
  const req = new b.PipeConnectWrap()
  req.oncomplete = (status) => {
    if (!open) return
    if (status < 0) return failed('connect', status)
    const writes = queued!
    queued = undefined
    const reading = handle.readStart()
    if (reading < 0) return failed('read', reading)
    for (const data of writes) if (open) send(data)
  }
  const status = handle.connect(req, target)
  // A synchronous failure is reported on the next tick, as net does, never from inside openUnixStream.
  if (status < 0) process.nextTick(() => failed('connect', status))

  return {
    kind: 'pipe',
    write(data) {
      if (!open) return
      if (queued) queued.push(data)
      else send(data)
    },
    destroy() {
      if (!open) return
      open = false
      handle.close()
    },
  }
}
