/**
 * Issue 19 through the real CLI: a firewall page and a TLS-intercepting proxy's certificate, each
 * answered by a loopback server, reach the user as what they are, with the fix, exit 6.
 */
import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'
import {hostileIssuerPerTest, selfSignedCertificate} from '../support/hostile-issuer.js'

const scratch = hostileIssuerPerTest()

describe('a bot challenge in front of the server', () => {
  it('token: "a firewall or bot challenge at HOST answered instead of ..." with the fix, exit 6', async () => {
    const server = await scratch.issuer({
      '/.well-known/oauth-authorization-server': (_request, response) => {
        response.writeHead(403, {'content-type': 'text/html', 'cf-mitigated': 'challenge'})
        response.end('<html><title>Just a moment...</title></html>')
      },
    })
    const result = await runCli(['token', '--json'], {env: scratch.loggedInTo(server.url).env})
    expect(result.code, result.stderr).toBe(6)
    const {error} = JSON.parse(result.stdout) as {error: {code: string; message: string}}
    expect(error.code).toBe('firewall_challenge')
    expect(error.message).toContain(`a firewall or bot challenge at ${new URL(server.url).host} answered instead of`)
    expect(error.message).toMatch(/another network.*HTTPS_PROXY/)
  })
})

describe('a certificate Node does not trust (a TLS-intercepting proxy)', () => {
  it('token names NODE_EXTRA_CA_CERTS (and the system CA option where this Node has it), exit 6', async () => {
    const tls = selfSignedCertificate(scratch.dir('onramp-tls-'))
    if (!tls) return expect.fail('openssl is needed to make a certificate')
    const server = await scratch.issuer({}, {tls})
    const result = await runCli(['token'], {env: scratch.loggedInTo(server.url).env})
    expect(result.code, result.stderr).toBe(6)
    expect(result.stderr).toMatch(/not signed by a CA Node trusts \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)/)
    expect(result.stderr).toContain('NODE_EXTRA_CA_CERTS=/path/to/ca.pem')
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
    const hasEnv = major >= 25 || (major === 24 && minor >= 6) || (major === 22 && minor >= 19)
    if (hasEnv) expect(result.stderr).toContain('NODE_USE_SYSTEM_CA=1')
    else if (process.allowedNodeEnvironmentFlags.has('--use-system-ca')) expect(result.stderr).toContain('--use-system-ca')
    else expect(result.stderr).toContain('cannot read the system certificate store')
  })
})
