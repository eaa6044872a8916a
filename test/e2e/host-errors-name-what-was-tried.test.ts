import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {isolatedHome, runCli} from '../support/cli.js'

/** Issue 20 item 7: a wrong --host says what was tried and what answered, not "different issuer" or "(bad port)". */
describe('host errors name what was tried and what answered', () => {
  const home = isolatedHome()
  let server: Server
  let host: string
  const otherIssuer = 'https://auth.example.test'

  beforeAll(async () => {
    // A server whose metadata names another issuer (as a proxy in front of the real one would).
    server = createServer((request, response) => {
      if (request.url?.startsWith('/.well-known/')) {
        response.writeHead(200, {'content-type': 'application/json'})
        response.end(JSON.stringify({issuer: otherIssuer, authorization_endpoint: `${otherIssuer}/authorize`, token_endpoint: `${otherIssuer}/token`}))
        return
      }
      response.writeHead(404).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    host = `http://localhost:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
    home.cleanup()
  })

  it('--host whose metadata names a different issuer names that issuer, the URLs tried, and suggests --host <that issuer>', async () => {
    const result = await runCli(['scopes', '--check', '--host', host], {env: home.env})
    expect(result.code, result.stderr).toBe(2)
    expect(result.stderr).toContain(`names a different issuer, ${otherIssuer}`)
    expect(result.stderr).toContain(`${host}/.well-known/oauth-authorization-server`)
    expect(result.stderr).toContain(`${host}/.well-known/openid-configuration`)
    expect(result.stderr).toContain(`pass --host ${otherIssuer}`)
    const json = await runCli(['scopes', '--check', '--host', host, '--json'], {env: home.env})
    expect(JSON.parse(json.stdout || json.stderr)).toMatchObject({error: {code: 'issuer_mismatch', next_command: `onramp login --host ${otherIssuer}`}})
  })

  it('port 1 names the port and says it is not allowed, instead of "(bad port)"', async () => {
    const result = await runCli(['scopes', '--check', '--host', 'http://localhost:1'], {env: home.env})
    expect(result.code, result.stderr).toBe(6)
    expect(result.stderr).toContain('port 1 is not allowed')
    expect(result.stderr).toContain('nothing there can answer')
    expect(result.stderr).not.toContain('(bad port)')
  })

  it('doctor on port 1 says the port is not allowed and how to fix it, not ECONNREFUSED or "check your connection"', async () => {
    const result = await runCli(['doctor', '--host', 'http://localhost:1', '--json'], {env: home.env})
    expect(result.code, result.stderr).toBe(6)
    const checks = (JSON.parse(result.stdout) as {checks: Array<{id: string; status: string; summary: string; fix: string | null}>}).checks
    const byId = (id: string) => checks.find((check) => check.id === id)
    expect(byId('server.discovery')).toMatchObject({
      status: 'fail',
      summary: expect.stringContaining('port 1 is not allowed (fetch refuses ports kept for other protocols'),
      fix: expect.stringMatching(/^check the port in --host/),
    })
    // A TCP probe of port 1 would say ECONNREFUSED (or connect to whatever listens there): onramp never goes there.
    expect(byId('server.connect')).toMatchObject({status: 'warn', summary: expect.stringMatching(/not measured: port 1 is not allowed/)})
    expect(result.stdout).not.toMatch(/ECONNREFUSED|\(bad port\)|check the host, your connection/)
    // The first failure decides the exit code: a network kind (6), as login and token exit on bad_port.
    expect(checks.filter((check) => check.status === 'fail').map((check) => check.id)).toEqual(['server.discovery'])
  })
})
