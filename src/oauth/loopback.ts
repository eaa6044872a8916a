import {timingSafeEqual} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {Duplex} from 'node:stream'

import {UnexpectedError, UsageError} from '../errors.js'
import type {Logger} from '../log.js'

/**
 * The loopback redirect listener of RFC 8252 section 7.3: bound before the browser opens, on 127.0.0.1
 * (and ::1 on the same port when the redirect host is `localhost`: both or neither, so no other process
 * can hold the address the browser picks), answering only the exact callback path on the redirect's own
 * Host. A callback with the wrong `state` gets an error page and the login keeps waiting; the first good
 * one ends it.
 */
export interface LoopbackOptions {
  host: 'localhost' | '127.0.0.1'
  /** Ports to try in order; 0 means any free port. */
  ports: readonly number[]
  path: string
  expectedState: string
  /** RFC 9207: when the callback carries `iss`, it must be this issuer. */
  expectedIssuer: string
  logger?: Logger
  /** Told when a callback could not be read (headers past the limit), with what to do: the terminal says it too. */
  onProblem?: (message: string) => void
}

/**
 * Largest request head the callback accepts. Node's default (16 KiB) is less than the cookies other local
 * apps leave on `localhost`: the browser showed a bare 431 and the login never completed (PostHog/wizard
 * PR #1253). Browsers send at most ~180 cookies of 4 KiB per host, so 1 MiB takes any real cookie jar.
 */
export const MAX_CALLBACK_HEADER_BYTES = 1024 * 1024

/** What a person reads when the browser's cookies for localhost are too large even so (browser page and terminal). */
export const OVERSIZED_HEADERS_ADVICE =
  'The browser sent the login callback with headers (mostly cookies for localhost, left by other local apps) larger than onramp accepts, so the callback could not be read. ' +
  'Clear the cookies for localhost in this browser (or open the address in a private window), then load the callback address again: the login is still waiting.'

export interface CallbackListener {
  redirectUri: string
  /** The callback's query once a request with the right state arrives (it may carry `error`). */
  result: Promise<URLSearchParams>
  /** Offers a pasted redirect URL (--no-browser); returns why it was refused, or undefined when accepted. */
  submit(pastedUrl: string): string | undefined
  close(): Promise<void>
}

export async function listenLoopback(options: LoopbackOptions): Promise<CallbackListener> {
  let settle!: {resolve: (params: URLSearchParams) => void; reject: (error: Error) => void}
  const result = new Promise<URLSearchParams>((resolve, reject) => (settle = {resolve, reject}))
  result.catch(() => {}) // the flow awaits it; avoid an unhandled rejection when it gives up first
  let done = false

  /** Checks one callback; returns a refusal reason, or undefined when it ended the wait. */
  const accept = (params: URLSearchParams): string | undefined => {
    if (done) return 'this login has already completed'
    if (!sameSecret(params.get('state'), options.expectedState)) {
      options.logger?.event('oauth.callback_rejected', {reason: 'state_mismatch'}, 'warn')
      return 'the state parameter does not match this login (a stale or forged link); the login is still waiting'
    }
    const iss = params.get('iss')
    done = true
    if (iss !== null && iss !== options.expectedIssuer) {
      options.logger?.event('oauth.callback_rejected', {reason: 'issuer_mismatch', iss, expected: options.expectedIssuer}, 'warn')
      settle.reject(
        new UnexpectedError(
          `The authorization response came from issuer ${iss}, not ${options.expectedIssuer} (RFC 9207 mix-up protection); nothing was stored. Run onramp login again.`,
          {code: 'issuer_mismatch'},
        ),
      )
      return 'the response came from a different issuer'
    }
    settle.resolve(params)
    return undefined
  }

  // Filled in once bound: the Host a browser following our redirect URI sends (RFC 9110 7.2).
  let expectedHosts: string[] = []
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    // DNS rebinding or another page posting to our port carries another Host: never let it near the state check.
    if (!expectedHosts.includes((request.headers.host ?? '').toLowerCase())) {
      options.logger?.event('oauth.callback_rejected', {reason: 'wrong_host', host: request.headers.host ?? null}, 'warn')
      respond(response, 400, 'Bad request', 'This is the onramp login listener; it answers only its own redirect address.')
      return
    }
    const url = new URL(request.url ?? '/', 'http://loopback')
    if (request.method !== 'GET' || url.pathname !== options.path) {
      respond(response, 404, 'Not found', 'This is the onramp login listener; nothing lives here.')
      return
    }
    const refusal = accept(url.searchParams)
    if (refusal) respond(response, 400, 'Login not completed', `onramp refused this callback: ${refusal}.`)
    else if (url.searchParams.has('error'))
      respond(response, 200, 'Login not completed', `The server answered ${url.searchParams.get('error')}. Return to the terminal for details.`)
    else respond(response, 200, 'Login complete', 'onramp has the authorization. You can close this tab and return to the terminal.')
    if (done) setImmediate(() => void close())
  }

  // Past the header limit Node answers a bare 431 on its own; this says what happened and what to do instead.
  const answered = new WeakSet<Duplex>()
  let told = false
  const onClientError = (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (answered.has(socket)) return // the rest of an oversized request, still arriving
    answered.add(socket)
    if (error.code === 'HPE_HEADER_OVERFLOW' || error.code === 'HPE_REQUEST_HEADER_FIELDS_TOO_LARGE') {
      options.logger?.event('oauth.callback_rejected', {reason: 'headers_too_large'}, 'warn', {echo: false})
      if (!told) options.onProblem?.(OVERSIZED_HEADERS_ADVICE)
      told = true
      if (!socket.writable) return void socket.destroy()
      socket.end(rawPage(431, 'Request Header Fields Too Large', 'Login not completed: cookies too large', OVERSIZED_HEADERS_ADVICE))
      // Read what the browser is still sending: closing with unread data would reset the connection
      // before the browser reads the page.
      socket.on('data', () => {})
      socket.resume()
      setTimeout(() => socket.destroy(), 5000).unref()
      return
    }
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    else socket.destroy()
  }

  const servers = await bindFirstFree(handler, options)
  for (const server of servers) server.on('clientError', onClientError)
  const port = (servers[0]?.address() as {port: number}).port
  // A browser leaves out the default port (--port 80).
  expectedHosts = port === 80 ? [`${options.host}:80`, options.host] : [`${options.host}:${port}`]
  const close = async () => {
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve())
            server.closeAllConnections()
          }),
      ),
    )
  }
  return {
    redirectUri: `http://${options.host}:${port}${options.path}`,
    result,
    submit(pastedUrl) {
      let parsed: URL
      try {
        parsed = new URL(pastedUrl.trim())
      } catch {
        return 'that is not a URL; paste the whole address from the browser bar'
      }
      if (parsed.pathname !== options.path) return `that URL does not end in ${options.path}`
      return accept(parsed.searchParams)
    },
    close,
  }
}

/** How many random ports to try for `localhost` with port 0 before giving up (each must be free on both addresses). */
const RANDOM_PORT_TRIES = 5

async function bindFirstFree(handler: (request: IncomingMessage, response: ServerResponse) => void, options: LoopbackOptions): Promise<Server[]> {
  const busy: number[] = []
  const denied: number[] = []
  const candidates = options.ports.flatMap((port) => (port === 0 && options.host === 'localhost' ? Array<number>(RANDOM_PORT_TRIES).fill(0) : [port]))
  for (const port of candidates) {
    const outcome = await bindBoth(handler, options.host, port)
    if (Array.isArray(outcome)) return outcome
    const list = outcome.reason === 'denied' ? denied : busy
    if (!list.includes(outcome.port)) list.push(outcome.port)
  }
  if (denied.length > 0) {
    const ports = denied.join(', ')
    throw new UsageError(
      `onramp may not listen on port ${ports} (permission denied${denied.some((port) => port < 1024) ? ': ports below 1024 need administrator rights' : ''}), so the login callback cannot be received. ` +
        `Pass --port with a free port from 1024 to 65535, or leave --port out.`,
      {code: 'port_denied'},
    )
  }
  const list = busy.join(', ')
  throw new UnexpectedError(
    busy.length === 1
      ? `Port ${list} is already in use, so the login callback cannot be received. Close the program using it or pass --port with a free port.`
      : `Ports ${list} are all in use, so the login callback cannot be received. Close what uses them or pass --port with a free port.`,
    {code: 'port_in_use'},
  )
}

/**
 * 127.0.0.1, and for `localhost` also ::1 on the same port: the browser may resolve `localhost` to
 * either, so a port another process holds on ::1 would hand it the code and state. Both or neither;
 * only a machine without IPv6 (nothing can listen on ::1 there) gets 127.0.0.1 alone.
 */
async function bindBoth(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
  host: LoopbackOptions['host'],
  port: number,
): Promise<Server[] | {reason: 'busy' | 'denied'; port: number}> {
  let v4: Server
  try {
    v4 = await bind(handler, '127.0.0.1', port)
  } catch (error) {
    return refusedPort(error, '127.0.0.1', port)
  }
  if (host !== 'localhost') return [v4]
  const actual = (v4.address() as {port: number}).port
  try {
    return [v4, await bind(handler, '::1', actual)]
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') return [v4]
    await new Promise((resolve) => v4.close(resolve))
    return refusedPort(error, '[::1]', actual)
  }
}

function refusedPort(error: unknown, address: string, port: number): {reason: 'busy' | 'denied'; port: number} {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'EADDRINUSE') return {reason: 'busy', port}
  if (code === 'EACCES' || code === 'EPERM') return {reason: 'denied', port}
  throw new UnexpectedError(`Could not listen on ${address}:${port} for the login callback (${code ?? String(error)}). Pass --port with another port, or leave --port out.`, {
    code: 'loopback_failed',
    cause: error,
  })
}

function bind(handler: (request: IncomingMessage, response: ServerResponse) => void, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({maxHeaderSize: MAX_CALLBACK_HEADER_BYTES}, handler)
    server.once('error', reject)
    server.listen({host, port, exclusive: true}, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}

function sameSecret(received: string | null, expected: string): boolean {
  if (received === null) return false
  const a = Buffer.from(received)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

function respond(response: ServerResponse, status: number, title: string, text: string): void {
  response.writeHead(status, {'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close'})
  response.end(page(title, text))
}

function page(title: string, text: string): string {
  const escape = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>onramp: ${escape(title)}</title></head>` +
    `<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto"><h1>${escape(title)}</h1><p>${escape(text)}</p></body></html>`
  )
}

/** A whole HTTP response written on a socket whose request Node could not parse. */
function rawPage(status: number, reason: string, title: string, text: string): string {
  const body = Buffer.from(page(title, text))
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/html; charset=utf-8\r\ncache-control: no-store\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n${body.toString()}`
}
