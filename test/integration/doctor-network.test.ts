import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {createDeps} from '../../src/deps.js'
import {doctorExitCode, runDoctor} from '../../src/doctor/run.js'
import {LOGIN_SCOPES} from '../../src/scopes/constant.js'
import {systemCaOption} from '../../src/tls.js'
import {freeLoopbackPort} from '../support/free-port.js'
import {capture} from '../support/harness.js'
import {isolatedHome} from '../support/cli.js'
import {itUnless} from '../support/skip.js'
import {findCheck} from '../support/doctor.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A bare authorization server on a real loopback port: its metadata, with the Date header we choose. */
async function startMetadataServer(options: {date?: () => string; tls?: {key: string; cert: string}} = {}): Promise<string> {
  let issuer = ''
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    if (options.date) response.setHeader('date', options.date())
    if (request.url === '/.well-known/oauth-authorization-server') {
      response.writeHead(200, {'content-type': 'application/json'})
      response.end(JSON.stringify({issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, response_types_supported: ['code'], scopes_supported: [...LOGIN_SCOPES]}))
      return
    }
    response.writeHead(404).end()
  }
  const server: Server = options.tls ? createHttpsServer(options.tls, handler) : createHttpServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as {port: number}).port}`
  cleanups.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))))
  return issuer
}


async function depsFor(extraEnv: Record<string, string> = {}) {
  const home = isolatedHome()
  cleanups.push(home.cleanup)
  // An explicit fetch: no global proxy dispatcher is installed in the test process.
  return createDeps({env: {...home.env, ...extraEnv}, stderr: capture(), version: 'test', fetch: (input, init) => fetch(input, init)})
}

describe('onramp doctor: the network between here and the server', () => {
  it('a proxy variable pointing at a closed port: server.proxy names the variable and fails as a network problem (exit 6)', async () => {
    const issuer = await startMetadataServer()
    const port = await freeLoopbackPort()
    const deps = await depsFor({HTTP_PROXY: `http://user:secret@127.0.0.1:${port}`})
    const report = await runDoctor(deps, {selection: {host: issuer}})
    const proxy = findCheck(report, 'server.proxy')
    expect(proxy.status).toBe('fail')
    expect(proxy.summary).toMatch(new RegExp(`HTTP_PROXY applies to 127\\.0\\.0\\.1:\\d+, but the proxy http://127\\.0\\.0\\.1:${port} is unreachable \\(ECONNREFUSED\\)`))
    expect(proxy.fix).toMatch(/unset HTTP_PROXY/)
    expect(JSON.stringify(report)).not.toContain('secret') // proxy credentials stay out of the output
    expect(findCheck(report, 'server.discovery').status).toBe('warn')
    expect(doctorExitCode(report)).toBe(6)
  })

  it('NO_PROXY matching the issuer: the proxy is named as bypassed, and the server is reached directly', async () => {
    const issuer = await startMetadataServer()
    const port = await freeLoopbackPort()
    const deps = await depsFor({https_proxy: `http://127.0.0.1:${port}`, HTTP_PROXY: `http://127.0.0.1:${port}`, no_proxy: 'example.com,127.0.0.1'})
    const report = await runDoctor(deps, {selection: {host: issuer}})
    expect(findCheck(report, 'server.proxy')).toMatchObject({status: 'ok', summary: expect.stringMatching(/no_proxy entry "127\.0\.0\.1" matches .*direct connection \(HTTP_PROXY not used\)/)})
    expect(findCheck(report, 'server.discovery').status).toBe('ok')
  })

  it("a server Date 10 minutes behind this machine's clock: clock.skew fails with the sync command", async () => {
    const issuer = await startMetadataServer({date: () => new Date(Date.now() - 10 * 60_000).toUTCString()})
    const deps = await depsFor()
    const report = await runDoctor(deps, {selection: {host: issuer}, platform: 'linux'})
    expect(findCheck(report, 'clock.skew')).toMatchObject({status: 'fail', summary: expect.stringMatching(/10 min ahead of the server's/), fix: 'synchronise the clock (sudo timedatectl set-ntp true)'})
    expect(findCheck(report, 'server.discovery').status).toBe('ok')
  })

  it('a server Date 2 minutes off warns; an accurate one is ok', async () => {
    const skewed = await startMetadataServer({date: () => new Date(Date.now() + 2 * 60_000).toUTCString()})
    const accurate = await startMetadataServer()
    const deps = await depsFor()
    expect(findCheck(await runDoctor(deps, {selection: {host: skewed}}), 'clock.skew')).toMatchObject({status: 'warn', summary: expect.stringMatching(/behind the server's/)})
    expect(findCheck(await runDoctor(deps, {selection: {host: accurate}}), 'clock.skew')).toMatchObject({status: 'ok', fix: null})
  })

  itUnless(!hasOpenssl() && 'openssl is not installed')('a self-signed certificate: the TLS error is named, with NODE_EXTRA_CA_CERTS as the fix', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'onramp-tls-'))
    cleanups.push(() => rmSync(dir, {recursive: true, force: true}))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], {stdio: 'ignore'})
    const issuer = await startMetadataServer({tls: {key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8')}})
    const deps = await depsFor()
    const report = await runDoctor(deps, {selection: {host: issuer}})
    const discovery = findCheck(report, 'server.discovery')
    expect(discovery.status).toBe('fail')
    expect(discovery.summary).toMatch(/TLS error from https:\/\/127\.0\.0\.1:\d+: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)/)
    expect(discovery.fix).toMatch(/NODE_EXTRA_CA_CERTS=\/path\/to\/ca\.pem/)
    expect(discovery.fix).toContain(systemCaOption() ?? 'cannot read the system certificate store')
    expect(findCheck(report, 'clock.skew').status).toBe('warn') // not checked without an answer
    expect(doctorExitCode(report)).toBe(6)
  })

  it('nothing listening at the issuer: server.discovery fails with the errno, exit 6', async () => {
    const port = await freeLoopbackPort()
    const deps = await depsFor()
    const report = await runDoctor(deps, {selection: {host: `http://127.0.0.1:${port}`}})
    expect(findCheck(report, 'server.discovery')).toMatchObject({status: 'fail', summary: expect.stringMatching(/ECONNREFUSED/)})
    expect(doctorExitCode(report)).toBe(6)
  })
})

describe('onramp doctor: how long the connection takes, per address family (issue 19 item 1)', () => {
  it('an IPv4 issuer: server.connect shows the IPv4 connect time and that IPv6 has no address', async () => {
    const issuer = await startMetadataServer()
    const report = await runDoctor(await depsFor(), {selection: {host: issuer}})
    const connect = findCheck(report, 'server.connect')
    expect(connect.status).toBe('ok')
    expect(connect.summary).toMatch(/^127\.0\.0\.1:\d+: IPv4 127\.0\.0\.1: connected in \d+ ms; IPv6: no address \(each address gets (\d+) ms\)$/)
    expect(Number(/gets (\d+) ms/.exec(connect.summary)![1])).toBeGreaterThanOrEqual(1000)
  })

  it('nothing listening: server.connect fails naming why, per family', async () => {
    const port = await freeLoopbackPort()
    const report = await runDoctor(await depsFor(), {selection: {host: `http://127.0.0.1:${port}`}})
    expect(findCheck(report, 'server.connect')).toMatchObject({status: 'fail', summary: expect.stringMatching(/IPv4 127\.0\.0\.1: ECONNREFUSED/)})
  })

  it('through a proxy: not measured, and says why', async () => {
    const issuer = await startMetadataServer()
    const port = await freeLoopbackPort()
    const report = await runDoctor(await depsFor({HTTP_PROXY: `http://127.0.0.1:${port}`}), {selection: {host: issuer}})
    expect(findCheck(report, 'server.connect').summary).toMatch(/not measured: .* is reached through HTTP_PROXY/)
  })
})

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}
