import {request as httpRequest, createServer as createHttpServer} from 'node:http'
import {createServer} from 'node:net'
import path from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {ROOT} from '../../support/cli.js'
import {waitFor} from '../../support/wait-for.js'
import {itUnless, UNPRIVILEGED_CHILD_UNAVAILABLE} from '../../support/skip.js'
import {runUnprivileged} from '../../support/unprivileged.js'

import {listenLoopback, type CallbackListener} from '../../../src/oauth/loopback.js'

const portOf = (listener: {redirectUri: string}): number => Number(new URL(listener.redirectUri).port)

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

/** A GET with a chosen Host header and address (fetch cannot set Host). */
function get(address: string, port: number, pathAndQuery: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({host: address, port, path: pathAndQuery, headers: {host}}, (response) => {
      response.resume()
      resolve(response.statusCode ?? 0)
    })
    request.on('error', reject)
    request.end()
  })
}

describe('listenLoopback', () => {
  it('answers only the exact callback path', async () => {
    const listener = await listen()
    expect((await fetch(`http://127.0.0.1:${portOf(listener)}/other?state=${STATE}&code=c`)).status).toBe(404)
    expect((await fetch(`http://127.0.0.1:${portOf(listener)}/callback/x?state=${STATE}&code=c`)).status).toBe(404)
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
    // It closes right after answering: wait for that, not for a fixed time.
    await waitFor('the listener to stop accepting connections', () => fetch(`${listener.redirectUri}?state=${STATE}&code=again`).then(() => false, () => true))
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
      expect(portOf(listener)).not.toBe(busy)
      await expect(listen({ports: [busy]})).rejects.toMatchObject({code: 'port_in_use', message: expect.stringContaining(String(busy))})
    } finally {
      blocker.close()
    }
  })

  it('uses localhost in the redirect URI when asked to, and answers it on 127.0.0.1 and ::1', async () => {
    const listener = await listen({host: 'localhost'})
    expect(listener.redirectUri).toBe(`http://localhost:${portOf(listener)}/callback`)
    expect(await get('::1', portOf(listener), `/callback?state=wrong&code=c`, `localhost:${portOf(listener)}`)).toBe(400)
    expect(await get('127.0.0.1', portOf(listener), `/callback?state=${STATE}&code=c`, `localhost:${portOf(listener)}`)).toBe(200)
    expect((await listener.result).get('code')).toBe('c')
  })

  it('answers only requests whose Host is the redirect\'s own host and port, and keeps waiting', async () => {
    const listener = await listen()
    const callback = `/callback?state=${STATE}&code=rebound`
    expect(await get('127.0.0.1', portOf(listener), callback, 'evil.example')).toBe(400)
    expect(await get('127.0.0.1', portOf(listener), callback, `evil.example:${portOf(listener)}`)).toBe(400)
    expect(await get('127.0.0.1', portOf(listener), callback, `localhost:${portOf(listener)}`)).toBe(400)
    expect(await get('127.0.0.1', portOf(listener), callback, `127.0.0.1:${portOf(listener) + 1}`)).toBe(400)
    expect(await get('127.0.0.1', portOf(listener), `/callback?state=${STATE}&code=good`, `127.0.0.1:${portOf(listener)}`)).toBe(200)
    expect((await listener.result).get('code')).toBe('good')
  })

  it('skips a localhost port that another process holds on [::1], which never receives anything', async () => {
    let received = 0
    const squatter = createHttpServer((_request, response) => {
      received++
      response.end()
    })
    squatter.on('connection', () => received++)
    await new Promise<void>((resolve) => squatter.listen(0, '::1', resolve))
    const held = (squatter.address() as {port: number}).port
    try {
      const listener = await listen({host: 'localhost', ports: [held, 0]})
      expect(portOf(listener)).not.toBe(held)
      expect(await get('::1', portOf(listener), `/callback?state=${STATE}&code=c`, `localhost:${portOf(listener)}`)).toBe(200)
      expect((await listener.result).get('code')).toBe('c')
      await expect(listen({host: 'localhost', ports: [held]})).rejects.toMatchObject({code: 'port_in_use', message: expect.stringContaining(String(held))})
      expect(received).toBe(0)
    } finally {
      squatter.close()
    }
  })

  it('leaves the 127.0.0.1 half free again when it skips a port held on [::1]', async () => {
    const squatter = createServer()
    await new Promise<void>((resolve) => squatter.listen(0, '::1', resolve))
    const held = (squatter.address() as {port: number}).port
    try {
      await expect(listen({host: 'localhost', ports: [held]})).rejects.toMatchObject({code: 'port_in_use'})
      // The same port on 127.0.0.1 alone binds: the skipped attempt did not keep it.
      const listener = await listen({host: '127.0.0.1', ports: [held]})
      expect(portOf(listener)).toBe(held)
    } finally {
      squatter.close()
    }
  })

  itUnless(UNPRIVILEGED_CHILD_UNAVAILABLE)('says which port it may not use, and what to do, when listening is not permitted (--port 80 as a normal user)', () => {
    const script = `
      import {listenLoopback} from ${JSON.stringify(path.join(ROOT, 'src/oauth/loopback.ts'))}
      listenLoopback({host: '127.0.0.1', ports: [80], path: '/callback', expectedState: 's', expectedIssuer: 'https://i.test'})
        .then((listener) => { console.log(JSON.stringify({bound: portOf(listener)})); return listener.close() })
        .catch((error) => console.log(JSON.stringify({code: error.code, exit: error.exit, message: error.message})))
    `
    // Root may bind port 80: the check runs as nobody, like a normal user.
    const {answer, stderr} = runUnprivileged(script)
    expect(answer, stderr).toMatchObject({code: 'port_denied', exit: 2})
    expect(answer.message).toMatch(/port 80 .*permission denied.*--port/)
  })
})

describe('large cookie headers on the callback (PostHog/wizard PR #1253)', () => {
  /** A GET carrying `cookieBytes` of cookies: status and body as the browser would see them. */
  function getWithCookies(port: number, pathAndQuery: string, cookieBytes: number): Promise<{status: number; body: string}> {
    const cookie = Array.from({length: Math.ceil(cookieBytes / 4000)}, (_, i) => `app${i}=${'c'.repeat(3990)}`).join('; ')
    return new Promise((resolve, reject) => {
      const request = httpRequest({host: '127.0.0.1', port, path: pathAndQuery, headers: {host: `127.0.0.1:${port}`, cookie}}, (response) => {
        let body = ''
        response.on('data', (chunk: Buffer) => (body += chunk.toString()))
        response.on('end', () => resolve({status: response.statusCode ?? 0, body}))
      })
      request.on('error', reject)
      request.end()
    })
  }

  it('takes a callback carrying 600 KB of localhost cookies', async () => {
    const listener = await listen()
    const answer = await getWithCookies(portOf(listener), `/callback?state=${STATE}&code=big`, 600 * 1024)
    expect(answer.status).toBe(200)
    expect((await listener.result).get('code')).toBe('big')
  })

  it('past the limit: the browser gets a page saying what happened and how to fix it, the terminal the same, and the login keeps waiting', async () => {
    const problems: string[] = []
    const listener = await listen({onProblem: (message) => void problems.push(message)})
    const answer = await getWithCookies(portOf(listener), `/callback?state=${STATE}&code=huge`, 1200 * 1024)
    expect(answer.status).toBe(431)
    expect(answer.body).toMatch(/cookies for localhost/)
    expect(answer.body).toMatch(/private window/)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/Clear the cookies for localhost.*private window/)
    // After clearing the cookies the same address works.
    expect(await get('127.0.0.1', portOf(listener), `/callback?state=${STATE}&code=after`, `127.0.0.1:${portOf(listener)}`)).toBe(200)
    expect((await listener.result).get('code')).toBe('after')
  })
})
