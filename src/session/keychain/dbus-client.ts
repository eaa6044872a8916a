import {KeychainTimeoutError, type KeychainUnavailableError} from './backend.js'
import {silentBus} from './dbus.js'
import {MESSAGE, methodCall, readMessage, type MethodCall} from './dbus-wire.js'
import {openUnixStream} from './unix-stream.js'

/**
 * Anything a D-Bus connection did that the caller did not plan for: refused or closed connection, auth
 * rejected, an error reply, a reply of another signature, bytes no bus sends. The plain read then leaves
 * the decision to the keychain library.
 */
export class BusUnusual extends Error {}

export interface BusConnection {
  /** Sends a method call at once (behind the handshake); resolves with the reply's body. */
  call(target: MethodCall, signature: string, args: unknown[], replySignature: string): Promise<unknown[]>
  /** Destroys the socket and rejects what is still waiting. Always called, whatever happened. */
  close(): void
}

/** The longest handshake line onramp waits for before calling the other side not a bus. */
const MAX_AUTH_LINE = 4096

/**
 * A connection to the session bus at `target` (busSocket), authenticated by SASL EXTERNAL (the kernel
 * tells the bus our uid), with one deadline over connecting, the handshake and every reply: a bus silent
 * until then is silentBus (the same words as the bus check before the library), one that answered the
 * handshake but not a call is a KeychainTimeoutError. Every other failure is BusUnusual.
 * `transport` is unix-stream.ts's (tests run both).
 */
export function connectBus(
  {first, target}: {first: string; target: string},
  {timeoutMs, timeoutName, transport}: {timeoutMs: number; timeoutName: string; transport?: 'pipe' | 'net'},
): BusConnection {
  const waiting = new Map<number, {resolve: (body: unknown[]) => void; reject: (error: Error) => void; replySignature: string}>()
  let authenticated = false
  let received: Buffer = Buffer.alloc(0)
  let serial = 0
  let failure: Error | undefined

  const fail = (error: Error) => {
    if (failure) return
    failure = error
    clearTimeout(timer)
    socket.destroy()
    for (const call of waiting.values()) call.reject(error)
    waiting.clear()
  }
  const timer = setTimeout(() => {
    const error: KeychainUnavailableError = !authenticated
      ? silentBus(first, timeoutMs)
      : new KeychainTimeoutError(`${timeoutName} did not answer within ${Math.round(timeoutMs / 1000)} s (read; a locked keyring waiting for an unlock prompt?)`)
    fail(error)
  }, timeoutMs)

  const socket = openUnixStream(
    target,
    {
      data: (chunk) => {
        try {
          received = received.length === 0 ? chunk : Buffer.concat([received, chunk])
          if (!authenticated) handshake()
          if (authenticated) replies()
        } catch (error) {
          fail(error instanceof BusUnusual ? error : new BusUnusual(`D-Bus: ${(error as Error).message}`))
        }
      },
      end: (error) => fail(new BusUnusual(error ? `D-Bus connection: ${error.message}` : 'the D-Bus connection closed')),
    },
    {transport},
  )
  // The handshake pipelined, as sd-bus does: the uid as AUTH's initial response (the bus answers OK, or
  // REJECTED), BEGIN without waiting for that OK, and the calls right behind it; written once connected.
  socket.write(`\0AUTH EXTERNAL ${Buffer.from(String(process.getuid!())).toString('hex')}\r\nBEGIN\r\n`)

  const handshake = () => {
    const end = received.indexOf('\r\n')
    if (end < 0) {
      if (received.length > MAX_AUTH_LINE) throw new BusUnusual('D-Bus handshake: no line end')
      return
    }
    const line = received.toString('latin1', 0, end)
    if (!/^OK [0-9a-f]+$/.test(line)) throw new BusUnusual(`D-Bus handshake: ${line.slice(0, 200)}`)
    received = received.subarray(end + 2)
    authenticated = true
  }

  const replies = () => {
    for (let next = readMessage(received); next; next = readMessage(received)) {
      received = received.subarray(next.size)
      const {message} = next
      // Signals (NameAcquired after Hello) and calls to us are not what we wait for.
      if (message.type !== MESSAGE.reply && message.type !== MESSAGE.error) continue
      const call = message.replySerial === undefined ? undefined : waiting.get(message.replySerial)
      if (!call) continue
      waiting.delete(message.replySerial!)
      if (message.type === MESSAGE.error) {
        call.reject(new BusUnusual(`${message.errorName ?? 'error'}: ${typeof message.body[0] === 'string' ? message.body[0] : ''}`))
      } else if (message.signature !== call.replySignature) {
        call.reject(new BusUnusual(`a reply of signature "${message.signature}" where "${call.replySignature}" was expected`))
      } else {
        call.resolve(message.body)
      }
    }
  }

  return {
    call(target, signature, args, replySignature) {
      if (failure) return Promise.reject(failure)
      const bytes = methodCall(++serial, target, signature, args)
      const reply = new Promise<unknown[]>((resolve, reject) => waiting.set(serial, {resolve, reject, replySignature}))
      socket.write(bytes)
      return reply
    },
    close() {
      fail(new BusUnusual('the D-Bus connection was closed'))
    },
  }
}
