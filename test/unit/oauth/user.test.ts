import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {http, HttpResponse} from 'msw'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createHttp} from '../../../src/http.js'
import {createLogger} from '../../../src/log.js'
import {createOAuthClient} from '../../../src/oauth/client.js'
import {findUser, getSameOrigin, readMe} from '../../../src/oauth/user.js'
import {mswForFile} from '../../support/msw.js'

const ISSUER = 'https://app.example.test'
const ME = `${ISSUER}/api/users/@me/`

const server = mswForFile()

let dir: string
let seen: {url: string; authorization: string | null}[]
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'onramp-user-'))
  seen = []
  server.events.on('request:start', ({request}) => void seen.push({url: request.url, authorization: request.headers.get('authorization')}))
})
afterEach(() => {
  server.events.removeAllListeners()
  rmSync(dir, {recursive: true, force: true})
})

function lookup({idTokenClaims}: {idTokenClaims?: Record<string, unknown>} = {}) {
  const logger = createLogger({file: path.join(dir, 'log'), verbose: false, stderr: {write: () => true}})
  const http = createHttp({userAgent: 'test', logger, sleep: async () => {}})
  const client = createOAuthClient({discovered: {issuer: ISSUER, metadata: {issuer: ISSUER}, fromCache: false}, clientId: 'client', http})
  return findUser({http, logger}, {client, accessToken: 'access-1234567890', idTokenClaims, granted: ['user:read']})
}

const me = {email: 'ada@example.com', first_name: 'Ada', uuid: 'u-1'}

describe('findUser through /api/users/@me/', () => {
  it('follows a same-origin redirect', async () => {
    server.use(
      http.get(ME, () => new HttpResponse(null, {status: 301, headers: {location: '/api/users/me/'}})),
      http.get(`${ISSUER}/api/users/me/`, () => HttpResponse.json(me)),
    )
    expect(await lookup()).toEqual({email: 'ada@example.com', name: 'Ada', id: 'u-1'})
  })

  it.each([
    ['to another host', 'https://evil.example/collect'],
    ['from https to http on the same host', 'http://app.example.test/api/users/@me/'],
    ['to another port', 'https://app.example.test:8443/api/users/@me/'],
  ])('does not follow a redirect %s: no user, and the token goes nowhere else', async (_name, target) => {
    server.use(
      http.get(ME, () => new HttpResponse(null, {status: 302, headers: {location: target}})),
      http.get(target, () => HttpResponse.json(me)),
    )
    expect(await lookup()).toBeNull()
    expect(seen.map((request) => request.url)).toEqual([ME])
    expect(readFileSync(path.join(dir, 'log'), 'utf8')).toContain('user.lookup_redirect_refused')
  })

  it('strips escape sequences and bidi controls from names and emails', async () => {
    server.use(http.get(ME, () => HttpResponse.json({email: 'ada@example.com\u001b]0;owned\u0007', first_name: '\u001b[31mAda\u202e', uuid: 'u-1'})))
    expect(await lookup()).toEqual({email: 'ada@example.com', name: 'Ada', id: 'u-1'})
  })

  it('strips them from ID token claims too', async () => {
    const claims = {iss: ISSUER, sub: 's-1', aud: 'client', iat: 0, exp: 0, email: 'ada@example.com', name: 'Ada\u001b[2J\u001b[H Lovelace'}
    expect(await lookup({idTokenClaims: claims})).toEqual({email: 'ada@example.com', name: 'Ada Lovelace', id: 's-1'})
  })
})

describe('readMe (signup\'s lookup: who signed up, and whether user:read works) shares the one redirect rule', () => {
  function ports() {
    const logger = createLogger({file: path.join(dir, 'log'), verbose: false, stderr: {write: () => true}})
    return {http: createHttp({userAgent: 'test', logger, sleep: async () => {}}), logger}
  }

  it('answers the user and the status; a 403 (user:read not granted) is a status, not an error', async () => {
    server.use(http.get(ME, () => HttpResponse.json(me)))
    expect(await readMe(ports(), {issuer: ISSUER, accessToken: 'access-1234567890'})).toEqual({status: 200, user: {email: 'ada@example.com', name: 'Ada', id: 'u-1'}, organizationId: null})
    server.use(http.get(ME, () => HttpResponse.json({detail: 'scope'}, {status: 403})))
    expect(await readMe(ports(), {issuer: ISSUER, accessToken: 'access-1234567890'})).toEqual({status: 403, user: null, organizationId: null})
  })

  it('follows a same-origin redirect and refuses a cross-origin one, like findUser', async () => {
    server.use(
      http.get(ME, () => new HttpResponse(null, {status: 308, headers: {location: '/api/users/me/'}})),
      http.get(`${ISSUER}/api/users/me/`, () => HttpResponse.json(me)),
    )
    expect((await readMe(ports(), {issuer: ISSUER, accessToken: 'access-1234567890'})).user).toEqual({email: 'ada@example.com', name: 'Ada', id: 'u-1'})
    server.use(
      http.get(ME, () => new HttpResponse(null, {status: 302, headers: {location: 'https://evil.example/me'}})),
      http.get('https://evil.example/me', () => HttpResponse.json(me)),
    )
    seen.length = 0
    expect(await readMe(ports(), {issuer: ISSUER, accessToken: 'access-1234567890'})).toEqual({status: null, user: null, organizationId: null})
    expect(seen.map((request) => request.url)).toEqual([ME])
  })

  it('getSameOrigin stops a redirect loop after a few hops', async () => {
    server.use(http.get(`${ISSUER}/loop`, () => new HttpResponse(null, {status: 302, headers: {location: '/loop'}})))
    expect(await getSameOrigin(ports(), `${ISSUER}/loop`, {authorization: 'Bearer access-1234567890'})).toBeUndefined()
    expect(seen.length).toBe(4)
    expect(seen.every((request) => request.authorization === 'Bearer access-1234567890')).toBe(true)
  })
})
