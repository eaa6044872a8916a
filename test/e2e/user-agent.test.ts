// Every request the built binary makes says who it is: `User-Agent: onramp/<package.json version>`
// (issue 7: a command that built its own Deps once sent onramp/0.0.0). A tiny authorization server on
// loopback records the User-Agent of every request; each command runs against it in turn.
import {readFileSync} from 'node:fs'
import type {IncomingMessage} from 'node:http'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {ROOT, runCli} from '../support/cli.js'
import {hostileIssuer, type HostileIssuer, json, type Route} from '../support/hostile-issuer.js'
import {forFile, homeForFile} from '../support/lifecycle.js'
import {SCRIPTED_BROWSER} from '../support/mock-process.js'

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string}).version
const CLIENT_ID = 'user-agent-test-client'

/**
 * Just enough of an OAuth server for login, refresh, revoke and the user lookup: the authorization
 * endpoint approves at once (the scripted browser follows it), the token endpoint grants what was asked.
 * The loopback issuer records every request, headers included.
 */
function recordingServer(): Promise<HostileIssuer> {
  let requestedScope = ''
  const origin = (request: IncomingMessage) => `http://${request.headers.host}`
  const routes: Record<string, Route> = {
    '/.well-known/oauth-authorization-server': (request, response) =>
      json(response, 200, {
        issuer: origin(request),
        authorization_endpoint: `${origin(request)}/oauth/authorize`,
        token_endpoint: `${origin(request)}/oauth/token`,
        revocation_endpoint: `${origin(request)}/oauth/revoke`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        code_challenge_methods_supported: ['S256'],
      }),
    '/oauth/authorize': (request, response) => {
      const url = new URL(request.url ?? '/', origin(request))
      requestedScope = url.searchParams.get('scope') ?? ''
      const back = new URL(url.searchParams.get('redirect_uri')!)
      back.searchParams.set('code', 'code-1')
      back.searchParams.set('state', url.searchParams.get('state') ?? '')
      response.writeHead(302, {location: back.href}).end()
    },
    '/oauth/token': (_request, response, body) => {
      const grant = new URLSearchParams(body).get('grant_type')
      json(response, 200, {access_token: `pha_${grant === 'refresh_token' ? 'refreshed' : 'first'}`, refresh_token: 'phr_1', token_type: 'Bearer', expires_in: 3600, scope: requestedScope})
    },
    '/oauth/revoke': (_request, response) => json(response, 200, {}),
    '/api/users/@me/': (_request, response) => json(response, 200, {email: 'ua@example.com', first_name: 'UA', uuid: 'u-1'}),
  }
  return hostileIssuer(routes)
}

interface Seen {
  method: string
  path: string
  userAgent: string | undefined
}

const recorder = forFile('the recording server', recordingServer, (server) => server.close())
const home = homeForFile()

/** Runs one command and returns the requests it made (and only those: the scripted browser's visit to the authorization endpoint is not onramp's). */
async function requestsOf(args: string[]): Promise<{code: number | null; stderr: string; requests: Seen[]}> {
  const from = recorder().seen.length
  const result = await runCli(args, {env: {...home().env, ONRAMP_HOST: recorder().url, ONRAMP_CLIENT_ID: CLIENT_ID, BROWSER: SCRIPTED_BROWSER}})
  const requests = recorder()
    .seen.slice(from)
    .filter((request) => request.path !== '/oauth/authorize')
    .map((request) => ({method: request.method, path: request.path, userAgent: request.headers['user-agent']}))
  return {code: result.code, stderr: result.stderr, requests}
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
