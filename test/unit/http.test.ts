import {describe, expect, it} from 'vitest'

import {createHttp, retryDelay} from '../../src/http.js'

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
