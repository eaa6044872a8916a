import {createServer} from 'node:net'

import {afterEach, describe, expect, it} from 'vitest'

import {listenLoopback, type CallbackListener} from '../../src/oauth/loopback.js'

const STATE = 'x'.repeat(43)
const open: CallbackListener[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((listener) => listener.close()))
})

async function listen(overrides: Partial<Parameters<typeof listenLoopback>[0]> = {}) {
  const listener = await listenLoopback({host: '127.0.0.1', ports: [0], path: '/callback', expectedState: STATE, expectedIssuer: 'https://issuer.test', ...overrides})
  open.push(listener)
  return listener
}

describe('listenLoopback', () => {
  it('answers only the exact callback path', async () => {
    const listener = await listen()
    expect((await fetch(`http://127.0.0.1:${listener.port}/other?state=${STATE}&code=c`)).status).toBe(404)
    expect((await fetch(`http://127.0.0.1:${listener.port}/callback/x?state=${STATE}&code=c`)).status).toBe(404)
  })

  it('refuses a wrong state with an error page and keeps waiting, then takes the right one', async () => {
    const listener = await listen()
    const forged = await fetch(`${listener.redirectUri}?state=forged&code=evil`)
    expect(forged.status).toBe(400)
    expect(await forged.text()).toMatch(/state parameter does not match/)
    const good = await fetch(`${listener.redirectUri}?state=${STATE}&code=good`)
    expect(good.status).toBe(200)
    expect((await listener.result).get('code')).toBe('good')
  })

  it('closes after one successful callback', async () => {
    const listener = await listen()
    await fetch(`${listener.redirectUri}?state=${STATE}&code=good`)
    await listener.result
    await new Promise((resolve) => setTimeout(resolve, 50))
    await expect(fetch(`${listener.redirectUri}?state=${STATE}&code=again`)).rejects.toThrow()
  })

  it('fails on a wrong iss (RFC 9207)', async () => {
    const listener = await listen()
    const response = await fetch(`${listener.redirectUri}?state=${STATE}&code=c&iss=${encodeURIComponent('https://evil.test')}`)
    expect(response.status).toBe(400)
    await expect(listener.result).rejects.toMatchObject({code: 'issuer_mismatch'})
  })

  it('accepts a matching iss and passes errors through', async () => {
    const listener = await listen()
    await fetch(`${listener.redirectUri}?state=${STATE}&error=access_denied&iss=${encodeURIComponent('https://issuer.test')}`)
    expect((await listener.result).get('error')).toBe('access_denied')
  })

  it('takes a pasted redirect URL and checks it the same way', async () => {
    const listener = await listen()
    expect(listener.submit('not a url')).toMatch(/not a URL/)
    expect(listener.submit(`http://127.0.0.1:1/callback?state=wrong&code=c`)).toMatch(/state/)
    expect(listener.submit(`http://127.0.0.1:1/callback?state=${STATE}&code=pasted`)).toBeUndefined()
    expect((await listener.result).get('code')).toBe('pasted')
  })

  it('tries the next port when one is taken, and says which ones were busy when all are', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const busy = (blocker.address() as {port: number}).port
    try {
      const listener = await listen({ports: [busy, 0]})
      expect(listener.port).not.toBe(busy)
      await expect(listen({ports: [busy]})).rejects.toMatchObject({code: 'port_in_use', message: expect.stringContaining(String(busy))})
    } finally {
      blocker.close()
    }
  })

  it('uses localhost in the redirect URI when asked to', async () => {
    const listener = await listen({host: 'localhost'})
    expect(listener.redirectUri).toBe(`http://localhost:${listener.port}/callback`)
    const response = await fetch(`http://127.0.0.1:${listener.port}/callback?state=${STATE}&code=c`)
    expect(response.status).toBe(200)
  })
})
