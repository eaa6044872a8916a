import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {createServer, type IncomingMessage, type RequestListener, type ServerResponse} from 'node:http'
import {createServer as createTlsServer} from 'node:https'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {afterEach} from 'vitest'

import {isolatedHome} from './cli.js'
import {storeFileSession} from './credentials-file.js'

/** One request as the loopback server saw it. */
export interface SeenRequest {
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: string
}

export type Route = (request: IncomingMessage, response: ServerResponse, body: string, seen: SeenRequest[]) => void

export interface HostileIssuer {
  url: string
  seen: SeenRequest[]
  close: () => Promise<void>
}

/**
 * A loopback authorization server for tests that need a server misbehaving in one precise way: the
 * metadata document is served unless a route replaces it; every other path answers from `routes`
 * (by path without the query) or 404. Every request is recorded in `seen`.
 */
export async function hostileIssuer(routes: Record<string, Route>, options: {host?: string; metadata?: Record<string, unknown>; tls?: {key: string; cert: string}} = {}): Promise<HostileIssuer> {
  const seen: SeenRequest[] = []
  let url = ''
  const listener: RequestListener = (request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString()))
    request.on('end', () => {
      const pathname = new URL(request.url ?? '/', 'http://x').pathname
      seen.push({method: request.method ?? 'GET', path: pathname, headers: request.headers, body})
      const route = routes[pathname]
      if (route) return route(request, response, body, seen)
      if (pathname === '/.well-known/oauth-authorization-server') {
        response.writeHead(200, {'content-type': 'application/json'})
        response.end(
          JSON.stringify({
            issuer: url,
            authorization_endpoint: `${url}/authorize`,
            token_endpoint: `${url}/token`,
            revocation_endpoint: `${url}/revoke`,
            response_types_supported: ['code'],
            ...options.metadata,
          }),
        )
        return
      }
      response.writeHead(404).end()
    })
  }
  const server = options.tls ? createTlsServer({...options.tls, maxHeaderSize: 64 * 1024}, listener) : createServer({maxHeaderSize: 64 * 1024}, listener)
  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  url = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`
  return {
    url,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, {'content-type': 'application/json', 'cache-control': 'no-store', ...headers})
  response.end(JSON.stringify(body))
}

/** A throwaway self-signed certificate for 127.0.0.1 (openssl), or undefined when openssl is missing. */
export function selfSignedCertificate(dir: string): {key: string; cert: string} | undefined {
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], {stdio: 'ignore'})
  } catch {
    return undefined
  }
  return {key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8')}
}

export interface HostileScratch {
  /** hostileIssuer(...), closed after the test. */
  issuer: typeof hostileIssuer
  /** An isolated home (HOME and XDG folders), removed after the test. */
  home(): ReturnType<typeof isolatedHome>
  /** A home holding a stored (expired) file session for `issuer` (storeFileSession), and the CLI's environment pointing at that issuer. */
  loggedInTo(issuer: string, session?: Record<string, unknown>): {home: ReturnType<typeof isolatedHome>; env: Record<string, string>}
  /** A temp folder, removed after the test. */
  dir(prefix?: string): string
  /** Runs `cleanup` after the test, before what was made earlier (last made, first undone). */
  defer(cleanup: () => Promise<void> | void): void
}

/**
 * The set-up of the tests that provoke onramp with loopback issuers misbehaving on purpose: servers,
 * homes and folders made through it for a test are closed and removed after that test.
 */
export function hostileIssuerPerTest(): HostileScratch {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
  const scratch: HostileScratch = {
    issuer: async (...args) => {
      const server = await hostileIssuer(...args)
      cleanups.push(server.close)
      return server
    },
    home: () => {
      const home = isolatedHome()
      cleanups.push(home.cleanup)
      return home
    },
    loggedInTo: (issuer, session = {}) => {
      const home = scratch.home()
      storeFileSession(home.env.XDG_CONFIG_HOME!, issuer, session)
      return {home, env: {...home.env, ONRAMP_HOST: issuer}}
    },
    dir: (prefix = 'onramp-scratch-') => {
      const dir = mkdtempSync(path.join(tmpdir(), prefix))
      cleanups.push(() => rmSync(dir, {recursive: true, force: true}))
      return dir
    },
    defer: (cleanup) => void cleanups.push(cleanup),
  }
  return scratch
}
