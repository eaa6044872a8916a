import {chmodSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {http, HttpResponse} from 'msw'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {ExitCode} from '../../../src/errors.js'
import {createHttp} from '../../../src/http.js'
import {createLogger} from '../../../src/log.js'
import {cacheLifetime, discover} from '../../../src/oauth/discovery.js'
import {describeUnless, POSIX_ONLY} from '../../support/skip.js'
import {mswForFile} from '../../support/msw.js'

const ISSUER = 'https://auth.example.test'
const metadata = (issuer = ISSUER) => ({
  issuer,
  authorization_endpoint: `${issuer}/authorize`,
  token_endpoint: `${issuer}/token`,
  scopes_supported: ['openid', 'user:read'],
  response_types_supported: ['code'],
})

const server = mswForFile()

let dir: string
let now: Date
let requests: string[]
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'onramp-discovery-'))
  now = new Date('2026-11-23T12:00:00Z')
  requests = []
  server.events.on('request:start', ({request}) => void requests.push(new URL(request.url).pathname))
})
afterEach(() => {
  server.events.removeAllListeners()
  rmSync(dir, {recursive: true, force: true})
})

function deps() {
  const logger = createLogger({file: path.join(dir, 'log'), verbose: false, stderr: {write: () => true}})
  return {http: createHttp({userAgent: 'test', logger, sleep: async () => {}}), logger, now: () => now, paths: {cache: dir}}
}

describe('discover', () => {
  it('reads RFC 8414 metadata and caches it for its max-age', async () => {
    server.use(http.get(`${ISSUER}/.well-known/oauth-authorization-server`, () => HttpResponse.json(metadata(), {headers: {'cache-control': 'max-age=600'}})))
    const first = await discover(deps(), ISSUER)
    expect(first).toMatchObject({issuer: ISSUER, fromCache: false, metadata: {token_endpoint: `${ISSUER}/token`}})
    now = new Date(now.getTime() + 599_000)
    expect((await discover(deps(), ISSUER)).fromCache).toBe(true)
    now = new Date(now.getTime() + 2_000)
    expect((await discover(deps(), ISSUER)).fromCache).toBe(false)
    expect(requests).toEqual(['/.well-known/oauth-authorization-server', '/.well-known/oauth-authorization-server'])
  })

  it('caches for an hour when the server says nothing, and not at all for no-store', async () => {
    server.use(http.get(`${ISSUER}/.well-known/oauth-authorization-server`, () => HttpResponse.json(metadata())))
    await discover(deps(), ISSUER)
    now = new Date(now.getTime() + 3_599_000)
    expect((await discover(deps(), ISSUER)).fromCache).toBe(true)
    expect(cacheLifetime('no-store')).toBe(0)
    expect(cacheLifetime('public, max-age=30')).toBe(30_000)
    expect(cacheLifetime(null)).toBeUndefined()
  })

  it('falls back to OpenID Connect discovery', async () => {
    server.use(
      http.get(`${ISSUER}/.well-known/oauth-authorization-server`, () => new HttpResponse('no', {status: 404})),
      http.get(`${ISSUER}/.well-known/openid-configuration`, () => HttpResponse.json(metadata())),
    )
    expect((await discover(deps(), ISSUER)).metadata.issuer).toBe(ISSUER)
  })

  it('uses the RFC 8414 path-insertion form for an issuer with a path', async () => {
    const issuer = `${ISSUER}/tenant`
    server.use(http.get(`${ISSUER}/.well-known/oauth-authorization-server/tenant`, () => HttpResponse.json(metadata(issuer))))
    expect((await discover(deps(), issuer)).metadata.issuer).toBe(issuer)
  })

  it('refuses metadata naming another issuer (RFC 8414 section 3.3) with a usage error', async () => {
    server.use(http.get(`${ISSUER}/.well-known/oauth-authorization-server`, () => HttpResponse.json(metadata('https://evil.test'))))
    server.use(http.get(`${ISSUER}/.well-known/openid-configuration`, () => HttpResponse.json(metadata('https://evil.test'))))
    await expect(discover(deps(), ISSUER)).rejects.toMatchObject({exit: ExitCode.usage, code: 'issuer_mismatch'})
  })

  it('says the host publishes no metadata when both paths are missing (exit 2)', async () => {
    server.use(http.get(`${ISSUER}/*`, () => new HttpResponse('no', {status: 404})))
    await expect(discover(deps(), ISSUER)).rejects.toMatchObject({exit: ExitCode.usage, code: 'discovery_failed'})
  })

  it('maps a server that stays down to exit 6 after retrying', async () => {
    server.use(http.get(`${ISSUER}/*`, () => new HttpResponse('down', {status: 503})))
    await expect(discover(deps(), ISSUER)).rejects.toMatchObject({exit: ExitCode.network})
    expect(requests.filter((p) => p === '/.well-known/oauth-authorization-server')).toHaveLength(3)
  })

  it('maps an unreachable host to exit 6', async () => {
    server.use(http.get(`${ISSUER}/*`, () => HttpResponse.error()))
    await expect(discover(deps(), ISSUER)).rejects.toMatchObject({exit: ExitCode.network, code: 'server_unreachable'})
  })

  it('reports a 429 on the metadata as exit 6 with the wait, without trying the other well-known path', async () => {
    server.use(http.get(`${ISSUER}/*`, () => new HttpResponse('slow down', {status: 429, headers: {'retry-after': '120'}})))
    const error = await discover(deps(), ISSUER).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.network, code: 'rate_limited'})
    expect((error as Error).message).toMatch(/wait 120 s/)
    expect((error as Error).message).not.toMatch(/--host/)
    expect(requests).toEqual(['/.well-known/oauth-authorization-server'])
  })

  it('stops at a metadata document larger than the body limit with a clear error', async () => {
    const huge = {...metadata(), padding: 'x'.repeat(2 * 1024 * 1024)}
    server.use(http.get(`${ISSUER}/.well-known/oauth-authorization-server`, () => HttpResponse.json(huge)))
    await expect(discover(deps(), ISSUER)).rejects.toMatchObject({exit: ExitCode.network, code: 'response_too_large'})
  })

  it('caches for at most a day whatever max-age says, instead of overflowing the expiry date', async () => {
    server.use(http.get(`${ISSUER}/.well-known/oauth-authorization-server`, () => HttpResponse.json(metadata(), {headers: {'cache-control': 'max-age=99999999999999999999'}})))
    expect((await discover(deps(), ISSUER)).fromCache).toBe(false)
    now = new Date(now.getTime() + 24 * 3600_000 - 1000)
    expect((await discover(deps(), ISSUER)).fromCache).toBe(true)
    now = new Date(now.getTime() + 2000)
    expect((await discover(deps(), ISSUER)).fromCache).toBe(false)
    expect(cacheLifetime('max-age=31536000000')).toBe(24 * 3600_000)
  })
})

describe('plain http:// only for loopback endpoints', () => {
  const LOOPBACK = 'http://127.0.0.1:47111'
  const loopbackMetadata = () => ({
    issuer: LOOPBACK,
    authorization_endpoint: `${LOOPBACK}/authorize`,
    token_endpoint: `${LOOPBACK}/token`,
    revocation_endpoint: 'http://localhost:47111/revoke',
    response_types_supported: ['code'],
  })

  it('allows http:// endpoints on loopback hosts', async () => {
    server.use(http.get(`${LOOPBACK}/.well-known/oauth-authorization-server`, () => HttpResponse.json(loopbackMetadata())))
    expect((await discover(deps(), LOOPBACK)).metadata.token_endpoint).toBe(`${LOOPBACK}/token`)
  })

  it.each(['authorization_endpoint', 'token_endpoint', 'revocation_endpoint', 'userinfo_endpoint', 'registration_endpoint', 'introspection_endpoint', 'jwks_uri'])(
    'refuses a loopback issuer whose metadata names a non-loopback http:// %s, naming it (exit 2)',
    async (key) => {
      server.use(http.get(`${LOOPBACK}/.well-known/oauth-authorization-server`, () => HttpResponse.json({...loopbackMetadata(), [key]: 'http://tokens.evil.example/x'})))
      const error = await discover(deps(), LOOPBACK).catch((caught: unknown) => caught)
      expect(error).toMatchObject({exit: ExitCode.usage, code: 'insecure_endpoint'})
      expect((error as Error).message).toContain(`${key} http://tokens.evil.example/x`)
    },
  )

  it('refuses a plain-http registration endpoint on an https issuer too', async () => {
    server.use(http.get(`${ISSUER}/.well-known/oauth-authorization-server`, () => HttpResponse.json({...metadata(), registration_endpoint: 'http://auth.example.test/register'})))
    await expect(discover(deps(), ISSUER)).rejects.toMatchObject({code: 'insecure_endpoint'})
  })

  it('checks cached metadata the same way', async () => {
    server.use(http.get(`${LOOPBACK}/.well-known/oauth-authorization-server`, () => HttpResponse.json(loopbackMetadata())))
    await discover(deps(), LOOPBACK)
    const cacheDir = path.join(dir, 'discovery')
    for (const name of readdirSync(cacheDir)) {
      const file = path.join(cacheDir, name)
      const entry = JSON.parse(readFileSync(file, 'utf8')) as {metadata: Record<string, unknown>}
      entry.metadata.token_endpoint = 'http://tokens.evil.example/token'
      writeFileSync(file, JSON.stringify(entry))
    }
    await expect(discover(deps(), LOOPBACK)).rejects.toMatchObject({code: 'insecure_endpoint'})
  })
})

describeUnless(POSIX_ONLY)('discovery cache trust', () => {
  it('refuses a cache planted in a folder others can write, instead of using its token_endpoint', async () => {
    server.use(http.get(`${ISSUER}/.well-known/oauth-authorization-server`, () => HttpResponse.json(metadata(), {headers: {'cache-control': 'max-age=600'}})))
    await discover(deps(), ISSUER)
    const folder = path.join(dir, 'discovery')
    const [name] = readdirSync(folder)
    const file = path.join(folder, name!)
    // Another user rewrites the cached metadata: possible because the folder is world-writable.
    const planted = JSON.parse(readFileSync(file, 'utf8')) as {metadata: {token_endpoint: string}}
    planted.metadata.token_endpoint = 'https://tokens.evil.example/token'
    writeFileSync(file, JSON.stringify(planted))
    chmodSync(folder, 0o777)
    const error = await discover(deps(), ISSUER).catch((caught: unknown) => caught)
    expect(error).toMatchObject({code: 'untrusted_path', exit: ExitCode.unexpected})
    expect((error as Error).message).toContain(folder)
    expect(statSync(folder).mode & 0o777).toBe(0o777) // refused, not silently chmod-ed
    // Once the folder is ours alone again, the cache is used.
    chmodSync(folder, 0o700)
    expect((await discover(deps(), ISSUER)).metadata.token_endpoint).toBe('https://tokens.evil.example/token')
  })

  it('refuses a symlinked cache file', async () => {
    server.use(http.get(`${ISSUER}/.well-known/oauth-authorization-server`, () => HttpResponse.json(metadata(), {headers: {'cache-control': 'max-age=600'}})))
    await discover(deps(), ISSUER)
    const folder = path.join(dir, 'discovery')
    const [name] = readdirSync(folder)
    const file = path.join(folder, name!)
    renameSync(file, path.join(dir, 'elsewhere.json'))
    symlinkSync(path.join(dir, 'elsewhere.json'), file)
    await expect(discover(deps(), ISSUER)).rejects.toMatchObject({code: 'untrusted_path'})
  })
})
