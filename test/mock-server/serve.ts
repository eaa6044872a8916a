/**
 * `npm run mock-server -- --port N [--policy reject|clamp] [--auto-approve] [--iss-parameter] [--device-grant]`
 *
 * Serves the same MSW handlers as createMockServer on 127.0.0.1 through @mswjs/http-middleware. The port
 * is bound first (so `--port 0` can pick a free one), then the handlers are built for the real origin, and
 * only then the readiness line goes to stdout: `mock server listening on http://127.0.0.1:N`.
 */
import {createServer as createHttpServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {parseArgs} from 'node:util'

import {createServer as createMiddlewareApp} from '@mswjs/http-middleware'

import {createMockServer} from './index.js'

const USAGE = 'usage: npm run mock-server -- --port N [--policy reject|clamp] [--auto-approve] [--iss-parameter] [--device-grant]'

interface ServeOptions {
  port: number
  policy: 'reject' | 'clamp'
  autoApprove: boolean
  issParameter: boolean
  /** Offer the device authorization grant (RFC 8628), which PostHog does not. */
  deviceGrant: boolean
}

function parseServeArgs(argv: string[]): ServeOptions {
  const {values} = parseArgs({
    args: argv,
    options: {
      port: {type: 'string'},
      policy: {type: 'string', default: 'reject'},
      'auto-approve': {type: 'boolean', default: false},
      'iss-parameter': {type: 'boolean', default: false},
      'device-grant': {type: 'boolean', default: false},
      help: {type: 'boolean', default: false},
    },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    process.exit(0)
  }
  const port = Number(values.port)
  if (values.port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be an integer between 0 and 65535')
  if (values.policy !== 'reject' && values.policy !== 'clamp') throw new Error('--policy must be "reject" or "clamp"')
  return {port, policy: values.policy, autoApprove: values['auto-approve'], issParameter: values['iss-parameter'], deviceGrant: values['device-grant']}
}

function fail(message: string, code: number): never {
  process.stderr.write(`mock server: ${message}\n`)
  process.exit(code)
}

function main(): void {
  let options: ServeOptions
  try {
    options = parseServeArgs(process.argv.slice(2))
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`, 2)
  }
  const server = createHttpServer()
  server.once('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') fail(`port ${options.port} on 127.0.0.1 is already in use; pick another with --port (or --port 0 for a free one)`, 1)
    fail(`cannot listen on 127.0.0.1:${options.port}: ${error.message}`, 1)
  })
  server.listen(options.port, '127.0.0.1', () => {
    const {port} = server.address() as AddressInfo
    const mock = createMockServer({
      issuer: `http://127.0.0.1:${port}`,
      policy: options.policy,
      autoApprove: options.autoApprove,
      issParameter: options.issParameter,
      deviceGrant: options.deviceGrant,
      matchAnyOrigin: true,
    })
    // http-middleware is CommonJS: its `msw` types are the CJS twin of the ESM ones our handlers use
    // (same package, same runtime behaviour), hence the cast.
    const handlers = mock.handlers as unknown as Parameters<typeof createMiddlewareApp>
    server.on('request', createMiddlewareApp(...handlers))
    process.stdout.write(`mock server listening on ${mock.issuer}\n`)
  })
  const stop = (): void => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main()
