import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {isolatedHome, runCli} from '../support/cli.js'

/** An opaque refresh token: no ph*_ prefix, no JWT shape, nothing a shape rule would catch. */
const OPAQUE_REFRESH = 'Zq9.opaque~refresh-7Hc2Lp0Wm4Xv'
const OPAQUE_ACCESS = 'Yw3.opaque~access-9Kd1Mn5Rt8Bs'
const ESC = '\u001b'

let home: ReturnType<typeof isolatedHome>
let server: {url: string; close: () => Promise<void>}
beforeEach(() => {
  home = isolatedHome()
})
afterEach(async () => {
  await server?.close()
  home.cleanup()
})

/** A loopback authorization server whose token endpoint is hostile in the way `token` decides. */
async function hostileIssuer(token: (request: IncomingMessage, response: ServerResponse, body: string) => void) {
  const http = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString()))
    request.on('end', () => {
      if (request.url === '/.well-known/oauth-authorization-server') {
        response.writeHead(200, {'content-type': 'application/json'})
        response.end(JSON.stringify({issuer: url, authorization_endpoint: `${url}/authorize`, token_endpoint: `${url}/token`, response_types_supported: ['code']}))
      } else if (request.url === '/token') token(request, response, body)
      else response.writeHead(404).end()
    })
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections()
        http.close(() => resolve())
      }),
  }
}

/** A stored session for `issuer` whose access token has expired, so `token` refreshes it. */
function storeExpiredSession(issuer: string) {
  const dir = path.join(home.env.XDG_CONFIG_HOME!, 'onramp')
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const session = {
    issuer, client_id: 'client-1', region: null, access_token: OPAQUE_ACCESS, refresh_token: OPAQUE_REFRESH,
    expires_at: '2020-01-01T00:00:00.000Z', scope: ['user:read'], user: null, obtained_at: '2020-01-01T00:00:00.000Z',
  }
  writeFileSync(path.join(dir, 'credentials.json'), JSON.stringify({version: 1, sessions: {[`${issuer}#client-1`]: session}}), {mode: 0o600})
}

function logText(): string {
  try {
    return readFileSync(path.join(home.env.XDG_STATE_HOME!, 'onramp', 'onramp.log'), 'utf8')
  } catch {
    return ''
  }
}

describe('a token endpoint that quotes the refresh token and sends escape sequences', () => {
  it('never shows the opaque refresh token in the error, --json output or the log, nor the escapes on the terminal', async () => {
    server = await hostileIssuer((_request, response, body) => {
      const sent = new URLSearchParams(body).get('refresh_token')
      response.writeHead(400, {'content-type': 'application/json'})
      response.end(JSON.stringify({error: 'invalid_grant', error_description: `refresh token ${sent} is revoked ${ESC}]0;pwned${ESC}\\${ESC}[2K`}))
    })
    storeExpiredSession(server.url)
    const env = {...home.env, ONRAMP_HOST: server.url}

    const json = await runCli(['token', '--json'], {env})
    expect(json.code).toBe(5)
    const {error} = JSON.parse(json.stdout) as {error: {code: string; message: string}}
    expect(error.code).toBe('session_expired')
    expect(error.message).toContain('is revoked')

    const human = await runCli(['token', '--verbose'], {env})
    expect(human.code).toBe(5)
    expect(human.stderr).toContain('is revoked')

    for (const [where, text] of [['--json stdout', json.stdout], ['--json stderr', json.stderr], ['stderr', human.stderr], ['stdout', human.stdout], ['log', logText()]]) {
      expect(text, where).not.toContain(OPAQUE_REFRESH)
      expect(text, where).not.toContain(OPAQUE_ACCESS)
    }
    expect(human.stderr).not.toContain(ESC)
    expect(logText()).toContain('[REDACTED]')
  })
})

describe('a token endpoint that is briefly unavailable', () => {
  it('retries a refresh answered 503 temporarily_unavailable with Retry-After: 1 once, and succeeds', async () => {
    const posts: string[] = []
    server = await hostileIssuer((_request, response, body) => {
      posts.push(body)
      if (posts.length === 1) {
        response.writeHead(503, {'content-type': 'application/json', 'retry-after': '1'})
        response.end(JSON.stringify({error: 'temporarily_unavailable'}))
        return
      }
      response.writeHead(200, {'content-type': 'application/json', 'cache-control': 'no-store'})
      response.end(JSON.stringify({access_token: 'fresh-access-token-123456', token_type: 'Bearer', expires_in: 3600, refresh_token: 'fresh-refresh-token-123456'}))
    })
    storeExpiredSession(server.url)
    const result = await runCli(['token'], {env: {...home.env, ONRAMP_HOST: server.url}})
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe('fresh-access-token-123456')
    expect(posts).toHaveLength(2)
  })
})

describe('login --timeout', () => {
  it('refuses a wait beyond a day (exit 2) instead of timing out at once', async () => {
    const result = await runCli(['login', '--timeout', '9999999999', '--json'], {env: {...home.env}})
    expect(result.code).toBe(2)
    expect(result.stdout + result.stderr).toMatch(/86400/)
  })
})

describe('a token endpoint that sends headers and then one byte a second', () => {
  it('fails the refresh with exit 6 once the request deadline passes, instead of hanging with the lock held', async () => {
    const drips: NodeJS.Timeout[] = []
    server = await hostileIssuer((_request, response) => {
      response.writeHead(200, {'content-type': 'application/json'})
      response.write('{')
      drips.push(setInterval(() => response.write(' '), 1000))
    })
    try {
      storeExpiredSession(server.url)
      // The deadline is 15 s; a run that hangs is killed at 45 s and fails here with code null.
      const result = await runCli(['token', '--json'], {env: {...home.env, ONRAMP_HOST: server.url}, timeoutMs: 45_000})
      expect(result.code, result.stderr).toBe(6)
      expect((JSON.parse(result.stdout) as {error: {message: string}}).error.message).toMatch(/timed out/)
    } finally {
      drips.forEach(clearInterval)
    }
  }, 60_000)
})
