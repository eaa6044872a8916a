import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import {describe, expect, it} from 'vitest'

import {ExitCode} from '../../src/errors.js'
import {createHttp, ResponseTooLargeError, retryDelay} from '../../src/http.js'
import {createOAuthClient} from '../../src/oauth/client.js'

function scripted(statuses: number[], headers: Record<string, string> = {}) {
  const calls: {method: string; userAgent: string | null}[] = []
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init)
    calls.push({method: request.method, userAgent: request.headers.get('user-agent')})
    const status = statuses[Math.min(calls.length - 1, statuses.length - 1)]!
    return new Response('{}', {status, headers})
  }
  return {fetch, calls}
}

describe('createHttp', () => {
  it('sends the User-Agent, replacing a library\'s own', async () => {
    const {fetch, calls} = scripted([200])
    await createHttp({userAgent: 'onramp/1.2.3', fetch})('https://x.test/')
    await createHttp({userAgent: 'onramp/1.2.3', fetch})('https://x.test/', {headers: {'user-agent': 'oauth4webapi/3.0.0'}})
    expect(calls.map((call) => call.userAgent)).toEqual(['onramp/1.2.3', 'onramp/1.2.3'])
  })

  it('retries idempotent requests on 5xx and 429, honouring Retry-After', async () => {
    const slept: number[] = []
    const {fetch, calls} = scripted([503, 429, 200], {'retry-after': '1'})
    const response = await createHttp({userAgent: 'u', fetch, sleep: async (ms) => void slept.push(ms)})('https://x.test/')
    expect(response.status).toBe(200)
    expect(calls).toHaveLength(3)
    expect(slept).toEqual([1000, 1000])
  })

  it('never retries a POST', async () => {
    const {fetch, calls} = scripted([503, 200])
    const response = await createHttp({userAgent: 'u', fetch, sleep: async () => {}})('https://x.test/token', {method: 'POST', body: 'a=b'})
    expect(response.status).toBe(503)
    expect(calls).toHaveLength(1)
  })

  it('gives up after the retries and returns the last answer', async () => {
    const {fetch, calls} = scripted([500])
    const response = await createHttp({userAgent: 'u', fetch, retries: 2, sleep: async () => {}})('https://x.test/')
    expect(response.status).toBe(500)
    expect(calls).toHaveLength(3)
  })

  it('retries network errors for GET and then throws', async () => {
    let calls = 0
    const failing = async () => {
      calls++
      throw new TypeError('fetch failed')
    }
    await expect(createHttp({userAgent: 'u', fetch: failing, sleep: async () => {}})('https://x.test/')).rejects.toThrow('fetch failed')
    expect(calls).toBe(3)
  })
})

describe('retryDelay', () => {
  it('reads seconds, dates, and falls back to exponential backoff', () => {
    expect(retryDelay('2', 1)).toBe(2000)
    expect(retryDelay(null, 1)).toBe(250)
    expect(retryDelay(null, 3)).toBe(1000)
    expect(retryDelay(new Date(Date.now() + 5000).toUTCString(), 1)).toBeGreaterThan(3000)
  })
})

/** A real server on 127.0.0.1 for the cases a fake fetch cannot show (sockets, dripping bodies). */
async function loopbackServer(handler: (request: IncomingMessage, response: ServerResponse) => void) {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

describe('createHttp deadline', () => {
  it('fails a body that drips one byte a second once the deadline passes', async () => {
    const drips: NodeJS.Timeout[] = []
    const server = await loopbackServer((_request, response) => {
      response.writeHead(200, {'content-type': 'application/json'})
      response.write('{')
      drips.push(setInterval(() => response.write(' '), 1000))
    })
    try {
      const response = await createHttp({userAgent: 'u', timeoutMs: 1500})(`${server.url}/token`)
      expect(response.status).toBe(200)
      await expect(response.text()).rejects.toMatchObject({name: 'TimeoutError'})
    } finally {
      drips.forEach(clearInterval)
      await server.close()
    }
  })

  it('bounds the body even when the underlying fetch ignores the abort signal for it', async () => {
    // A body that never ends and never looks at the signal: only our own deadline can stop it.
    const endless = async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull: () => new Promise((resolve) => setTimeout(resolve, 200)),
        }),
        {status: 200},
      )
    const response = await createHttp({userAgent: 'u', timeoutMs: 300, fetch: endless})('https://x.test/')
    await expect(response.text()).rejects.toMatchObject({name: 'TimeoutError'})
  })

  it('a caller\'s abort still cancels the request', async () => {
    const controller = new AbortController()
    const hanging = (_input: string | URL | Request, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)))
    const pending = createHttp({userAgent: 'u', fetch: hanging})('https://x.test/', {signal: controller.signal})
    controller.abort(new Error('user gave up'))
    await expect(pending).rejects.toThrow('user gave up')
  })
})

describe('createHttp size limit', () => {
  it('stops reading a streamed body past the limit, with a clear error, without reading the rest', async () => {
    let sent = 0
    let closedAfter = -1
    const server = await loopbackServer((request, response) => {
      response.writeHead(200, {'content-type': 'application/json'})
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      const pump = () => {
        // 200 MiB in total unless the client hangs up first.
        while (sent < 200 * 1024 * 1024 && !response.destroyed) {
          sent += chunk.length
          if (!response.write(chunk)) return void response.once('drain', pump)
        }
        response.end()
      }
      request.socket.once('close', () => (closedAfter = sent))
      pump()
    })
    try {
      const response = await createHttp({userAgent: 'u', maxBodyBytes: 1024 * 1024})(`${server.url}/.well-known/oauth-authorization-server`)
      const failure = await response.json().catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(ResponseTooLargeError)
      expect((failure as ResponseTooLargeError).message).toMatch(/larger than 1 MiB/)
      await expect.poll(() => closedAfter).toBeGreaterThan(0)
      expect(closedAfter).toBeLessThan(50 * 1024 * 1024)
    } finally {
      await server.close()
    }
  })

  it('refuses a declared Content-Length over the limit before reading anything, and does not ask again', async () => {
    let calls = 0
    const fetch = async () => (calls++, new Response('x'.repeat(2048), {status: 200, headers: {'content-length': '2048'}}))
    await expect(createHttp({userAgent: 'u', maxBodyBytes: 1024, fetch, sleep: async () => {}})('https://x.test/')).rejects.toMatchObject({
      code: 'response_too_large',
      exit: ExitCode.network,
    })
    expect(calls).toBe(1)
  })

  it('passes bodies under the limit through whole', async () => {
    const fetch = async () => new Response(JSON.stringify({ok: 'y'.repeat(500)}), {status: 201, statusText: 'Created', headers: {'x-a': 'b'}})
    const response = await createHttp({userAgent: 'u', maxBodyBytes: 1024, fetch})('https://x.test/')
    expect(response.status).toBe(201)
    expect(response.headers.get('x-a')).toBe('b')
    expect(((await response.json()) as {ok: string}).ok).toHaveLength(500)
  })
})

describe('createHttp POST retries', () => {
  it('never sends an ordinary POST twice (a code, a provisioning refresh token, an account request), whatever the answer', async () => {
    for (const status of [405, 429, 500, 502, 503, 504]) {
      const {fetch, calls} = scripted([status, 200], {'retry-after': '1'})
      const response = await createHttp({userAgent: 'u', fetch, sleep: async () => {}})('https://x.test/token', {method: 'POST', body: 'grant_type=authorization_code&code=c'})
      expect(response.status).toBe(status)
      expect(calls, String(status)).toHaveLength(1)
    }
  })

  it('retries a POST marked safe (the OAuth refresh) on 405/502/503/504 with a short backoff', async () => {
    for (const status of [405, 502, 503, 504]) {
      const slept: number[] = []
      const {fetch, calls} = scripted([status, status, 200])
      const response = await createHttp({userAgent: 'u', fetch, sleep: async (ms) => void slept.push(ms)})('https://x.test/token', {method: 'POST', body: 'a=b', retry: 'safe'})
      expect(response.status).toBe(200)
      expect(calls.map((call) => call.method)).toEqual(['POST', 'POST', 'POST'])
      expect(slept).toEqual([250, 500])
    }
  })

  it('does not retry a 400 or a 401 even when safe', async () => {
    for (const status of [400, 401, 404]) {
      const {fetch, calls} = scripted([status, 200])
      await createHttp({userAgent: 'u', fetch, sleep: async () => {}})('https://x.test/', {})
      expect(calls, String(status)).toHaveLength(1)
    }
  })

  it('does not retry when the wait would pass the deadline', async () => {
    const {fetch, calls} = scripted([503, 200], {'retry-after': '2'})
    const response = await createHttp({userAgent: 'u', fetch, timeoutMs: 1000, sleep: async () => {}})('https://x.test/')
    expect(response.status).toBe(503)
    expect(calls).toHaveLength(1)
  })

  it('a refresh answered 503 temporarily_unavailable with Retry-After: 1 succeeds on the second try', async () => {
    const bodies: string[] = []
    const server = await loopbackServer((request, response) => {
      let body = ''
      request.on('data', (chunk: Buffer) => (body += chunk.toString()))
      request.on('end', () => {
        bodies.push(body)
        if (bodies.length === 1) {
          response.writeHead(503, {'content-type': 'application/json', 'retry-after': '1'})
          response.end(JSON.stringify({error: 'temporarily_unavailable', error_description: 'try again'}))
        } else {
          response.writeHead(200, {'content-type': 'application/json', 'cache-control': 'no-store'})
          response.end(JSON.stringify({access_token: 'new-access', token_type: 'Bearer', expires_in: 3600, refresh_token: 'new-refresh'}))
        }
      })
    })
    try {
      const discovered = {issuer: server.url, metadata: {issuer: server.url, token_endpoint: `${server.url}/token`}, fromCache: false}
      const client = createOAuthClient({discovered, clientId: 'client', http: createHttp({userAgent: 'u', timeoutMs: 5000})})
      const tokens = await client.refresh('old-refresh')
      expect(tokens.access_token).toBe('new-access')
      expect(bodies).toHaveLength(2)
      expect(bodies[1]).toContain('refresh_token=old-refresh')
    } finally {
      await server.close()
    }
  })
})

describe('parseRetryAfter (RFC 9110 section 10.2.3)', () => {
  it('reads delta-seconds and HTTP-dates, and nothing else (a "-3" is not a year)', async () => {
    const {parseRetryAfter} = await import('../../src/http.js')
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfter('2', now)).toBe(2000)
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000)
    expect(parseRetryAfter('-3', now)).toBeUndefined()
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter(null, now)).toBeUndefined()
  })
})

describe('configureConnections (the per-address attempt timeout)', () => {
  it('raises Node\'s default to 2 s, honours a larger ONRAMP_CONNECT_ATTEMPT_TIMEOUT_MS, never goes under 1 s', async () => {
    const net = await import('node:net')
    const {configureConnections, CONNECT_ATTEMPT_TIMEOUT_MS} = await import('../../src/http.js')
    const before = net.getDefaultAutoSelectFamilyAttemptTimeout()
    try {
      net.setDefaultAutoSelectFamilyAttemptTimeout(250)
      expect(configureConnections({})).toBe(CONNECT_ATTEMPT_TIMEOUT_MS)
      expect(CONNECT_ATTEMPT_TIMEOUT_MS).toBeGreaterThanOrEqual(1000)
      net.setDefaultAutoSelectFamilyAttemptTimeout(250)
      expect(configureConnections({ONRAMP_CONNECT_ATTEMPT_TIMEOUT_MS: '5000'})).toBe(5000)
      net.setDefaultAutoSelectFamilyAttemptTimeout(250)
      expect(configureConnections({ONRAMP_CONNECT_ATTEMPT_TIMEOUT_MS: '10'})).toBe(CONNECT_ATTEMPT_TIMEOUT_MS)
      net.setDefaultAutoSelectFamilyAttemptTimeout(250)
      const http = createHttp({userAgent: 'u', fetch: async () => new Response('{}')})
      // Set at the first request, not at creation: start-up (`onramp token` from its store) never loads node:net.
      expect(net.getDefaultAutoSelectFamilyAttemptTimeout()).toBe(250)
      await http('https://example.test/')
      expect(net.getDefaultAutoSelectFamilyAttemptTimeout()).toBeGreaterThanOrEqual(1000)
    } finally {
      net.setDefaultAutoSelectFamilyAttemptTimeout(before)
    }
  })
})
