import {readFileSync} from 'node:fs'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'
import {hostileIssuerPerTest, type Route} from '../support/hostile-issuer.js'

/** An opaque refresh token: no ph*_ prefix, no JWT shape, nothing a shape rule would catch. */
const OPAQUE_REFRESH = 'Zq9.opaque~refresh-7Hc2Lp0Wm4Xv'
const OPAQUE_ACCESS = 'Yw3.opaque~access-9Kd1Mn5Rt8Bs'
const ESC = '\u001b'

const scratch = hostileIssuerPerTest()

/**
 * A loopback authorization server whose token endpoint is hostile in the way `token` decides, and a home
 * holding a session there whose access token has expired (so `token` refreshes it).
 */
async function expiredSessionAt(token: Route) {
  const server = await scratch.issuer({'/token': token})
  return {server, ...scratch.loggedInTo(server.url, {access_token: OPAQUE_ACCESS, refresh_token: OPAQUE_REFRESH})}
}

function logText(homeEnv: Record<string, string>): string {
  try {
    return readFileSync(path.join(homeEnv.XDG_STATE_HOME!, 'onramp', 'onramp.log'), 'utf8')
  } catch {
    return ''
  }
}

describe('a token endpoint that quotes the refresh token and sends escape sequences', () => {
  it('never shows the opaque refresh token in the error, --json output or the log, nor the escapes on the terminal', async () => {
    const {env} = await expiredSessionAt((_request, response, body) => {
      const sent = new URLSearchParams(body).get('refresh_token')
      response.writeHead(400, {'content-type': 'application/json'})
      response.end(JSON.stringify({error: 'invalid_grant', error_description: `refresh token ${sent} is revoked ${ESC}]0;pwned${ESC}\\${ESC}[2K`}))
    })

    const json = await runCli(['token', '--json'], {env})
    expect(json.code).toBe(5)
    const {error} = JSON.parse(json.stdout) as {error: {code: string; message: string}}
    expect(error.code).toBe('session_expired')
    expect(error.message).toContain('is revoked')

    const human = await runCli(['token', '--verbose'], {env})
    expect(human.code).toBe(5)
    expect(human.stderr).toContain('is revoked')

    for (const [where, text] of [['--json stdout', json.stdout], ['--json stderr', json.stderr], ['stderr', human.stderr], ['stdout', human.stdout], ['log', logText(env)]]) {
      expect(text, where).not.toContain(OPAQUE_REFRESH)
      expect(text, where).not.toContain(OPAQUE_ACCESS)
    }
    expect(human.stderr).not.toContain(ESC)
    expect(logText(env)).toContain('[REDACTED]')
  })
})

describe('a token endpoint that is briefly unavailable', () => {
  it('retries a refresh answered 503 temporarily_unavailable with Retry-After: 1 once, and succeeds', async () => {
    const posts: string[] = []
    const {env} = await expiredSessionAt((_request, response, body) => {
      posts.push(body)
      if (posts.length === 1) {
        response.writeHead(503, {'content-type': 'application/json', 'retry-after': '1'})
        response.end(JSON.stringify({error: 'temporarily_unavailable'}))
        return
      }
      response.writeHead(200, {'content-type': 'application/json', 'cache-control': 'no-store'})
      response.end(JSON.stringify({access_token: 'fresh-access-token-123456', token_type: 'Bearer', expires_in: 3600, refresh_token: 'fresh-refresh-token-123456'}))
    })
    const result = await runCli(['token'], {env})
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe('fresh-access-token-123456')
    expect(posts).toHaveLength(2)
  })
})

describe('login --timeout', () => {
  it('refuses a wait beyond a day (exit 2) instead of timing out at once', async () => {
    const result = await runCli(['login', '--timeout', '9999999999', '--json'], {env: scratch.home().env})
    expect(result.code).toBe(2)
    expect(result.stdout + result.stderr).toMatch(/86400/)
  })
})

describe('a token endpoint that sends headers and then one byte a second', () => {
  it('fails the refresh with exit 6 once the request deadline passes, instead of hanging with the lock held', async () => {
    const drips: NodeJS.Timeout[] = []
    const {env} = await expiredSessionAt((_request, response) => {
      response.writeHead(200, {'content-type': 'application/json'})
      response.write('{')
      drips.push(setInterval(() => response.write(' '), 1000))
    })
    try {
      // The deadline is 15 s; a run that hangs is killed at 45 s and fails here with code null.
      const result = await runCli(['token', '--json'], {env, timeoutMs: 45_000})
      expect(result.code, result.stderr).toBe(6)
      expect((JSON.parse(result.stdout) as {error: {message: string}}).error.message).toMatch(/timed out/)
    } finally {
      drips.forEach(clearInterval)
    }
  }, 60_000)
})
