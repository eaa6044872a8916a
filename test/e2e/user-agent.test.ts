// Every request the built binary makes says who it is: `User-Agent: onramp/<package.json version>`
// (issue 7: a command that built its own Deps once sent onramp/0.0.0). A tiny authorization server on
// loopback records the User-Agent of every request; each command runs against it in turn.
import {readFileSync} from 'node:fs'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {isolatedHome, ROOT, runCli} from '../support/cli.js'

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string}).version
const SCRIPTED_BROWSER = `${process.execPath} ${path.join(ROOT, 'scripts', 'scripted-browser.mjs')}`
const CLIENT_ID = 'user-agent-test-client'

interface Seen {
  method: string
  path: string
  userAgent: string | undefined
}

/**
 * Just enough of an OAuth server for login, refresh, revoke and the user lookup: the authorization
 * endpoint approves at once (the scripted browser follows it), the token endpoint grants what was asked.
 */
function startRecordingServer(): Promise<{origin: string; seen: Seen[]; server: Server}> {
  const seen: Seen[] = []
  let requestedScope = ''
  let origin = ''
  const send = (response: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    response.writeHead(status, {'content-type': 'application/json', 'cache-control': 'no-store', ...headers})
    response.end(body === undefined ? '' : JSON.stringify(body))
  }
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', origin)
    let body = ''
    for await (const chunk of request) body += String(chunk)
    // The scripted browser's own visit to the authorization endpoint is not onramp's request.
    if (url.pathname !== '/oauth/authorize') seen.push({method: request.method ?? '', path: url.pathname, userAgent: request.headers['user-agent']})
    switch (url.pathname) {
      case '/.well-known/oauth-authorization-server':
        return send(response, 200, {
          issuer: origin,
          authorization_endpoint: `${origin}/oauth/authorize`,
          token_endpoint: `${origin}/oauth/token`,
          revocation_endpoint: `${origin}/oauth/revoke`,
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code', 'refresh_token'],
          code_challenge_methods_supported: ['S256'],
        })
      case '/oauth/authorize': {
        requestedScope = url.searchParams.get('scope') ?? ''
        const back = new URL(url.searchParams.get('redirect_uri')!)
        back.searchParams.set('code', 'code-1')
        back.searchParams.set('state', url.searchParams.get('state') ?? '')
        return send(response, 302, undefined, {location: back.href})
      }
      case '/oauth/token': {
        const grant = new URLSearchParams(body).get('grant_type')
        return send(response, 200, {access_token: `pha_${grant === 'refresh_token' ? 'refreshed' : 'first'}`, refresh_token: 'phr_1', token_type: 'Bearer', expires_in: 3600, scope: requestedScope})
      }
      case '/oauth/revoke':
        return send(response, 200, {})
      case '/api/users/@me/':
        return send(response, 200, {email: 'ua@example.com', first_name: 'UA', uuid: 'u-1'})
      default:
        return send(response, 404, {detail: 'Not found.'})
    }
  }
  const server = createServer((request, response) => {
    handle(request, response).catch(() => send(response, 500, {}))
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      resolve({origin, seen, server})
    }),
  )
}

let recorder: Awaited<ReturnType<typeof startRecordingServer>>
const home = isolatedHome()

beforeAll(async () => {
  recorder = await startRecordingServer()
})
afterAll(async () => {
  await new Promise<void>((resolve) => recorder.server.close(() => resolve()))
  home.cleanup()
})

/** Runs one command and returns the requests it made (and only those). */
async function requestsOf(args: string[]): Promise<{code: number | null; stderr: string; requests: Seen[]}> {
  const from = recorder.seen.length
  const result = await runCli(args, {env: {...home.env, ONRAMP_HOST: recorder.origin, ONRAMP_CLIENT_ID: CLIENT_ID, BROWSER: SCRIPTED_BROWSER}})
  return {code: result.code, stderr: result.stderr, requests: recorder.seen.slice(from)}
}

function expectAllFromOnramp(requests: Seen[]): void {
  expect(requests.length).toBeGreaterThan(0)
  // The offending requests, by method and path, so a failure names them.
  expect(requests.filter((request) => request.userAgent !== `onramp/${VERSION}`)).toEqual([])
}

// One story in one HOME, in order: each step needs the previous one's session.
describe.sequential(`User-Agent: onramp/${VERSION} on every request`, () => {
  it('scopes --check (metadata and the app ceiling)', async () => {
    const {requests} = await requestsOf(['scopes', '--check'])
    expectAllFromOnramp(requests)
    expect(requests.map((request) => request.path)).toContain('/.well-known/oauth-authorization-server')
  })

  it('login (token exchange and user lookup)', async () => {
    const {code, stderr, requests} = await requestsOf(['login'])
    expect(code, stderr).toBe(0)
    expectAllFromOnramp(requests)
    expect(requests.map((request) => request.path)).toEqual(expect.arrayContaining(['/oauth/token', '/api/users/@me/']))
  })

  it('status makes no request', async () => {
    const {code, requests} = await requestsOf(['status'])
    expect(code).toBe(0)
    expect(requests).toEqual([])
  })

  it('token, refreshing a session that expires within --min-valid', async () => {
    const {code, stderr, requests} = await requestsOf(['token', '--min-valid', '86400'])
    expect(code, stderr).toBe(0)
    expectAllFromOnramp(requests)
    expect(requests).toContainEqual(expect.objectContaining({method: 'POST', path: '/oauth/token'}))
  })

  it('doctor', async () => {
    const {requests} = await requestsOf(['doctor'])
    expectAllFromOnramp(requests)
  })

  it('logout (revocation)', async () => {
    const {code, stderr, requests} = await requestsOf(['logout'])
    expect(code, stderr).toBe(0)
    expectAllFromOnramp(requests)
    expect(requests).toContainEqual(expect.objectContaining({method: 'POST', path: '/oauth/revoke'}))
  })
})
