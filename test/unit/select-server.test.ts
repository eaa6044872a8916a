import {describe, expect, it} from 'vitest'

import {ExitCode} from '../../src/errors.js'
import {BUILTIN_CALLBACK_PORTS, isLoopbackHost, issuerFromHost, resolveServer} from '../../src/select-server.js'

describe('resolveServer', () => {
  it('defaults to the US region with the wizard app and its registered ports', () => {
    expect(resolveServer({})).toEqual({
      issuer: 'https://us.posthog.com',
      region: 'us',
      clientId: 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM',
      redirect: {host: 'localhost', ports: BUILTIN_CALLBACK_PORTS},
    })
    expect(BUILTIN_CALLBACK_PORTS).toEqual([8239, 8238, 8240, 8237, 8236, 8235])
  })

  it('maps eu to the EU host and client', () => {
    expect(resolveServer({region: 'eu'})).toMatchObject({issuer: 'https://eu.posthog.com', clientId: 'bx2C5sZRN03TkdjraCcetvQFPGH6N2Y9vRLkcKEy'})
  })

  it('lets --host override the region, with a free 127.0.0.1 port and no default client', () => {
    expect(resolveServer({region: 'eu', host: 'https://auth.example.com/'})).toEqual({
      issuer: 'https://auth.example.com',
      region: null,
      clientId: undefined,
      redirect: {host: '127.0.0.1', ports: [0]},
    })
  })

  it('recognises a built-in host given as --host', () => {
    expect(resolveServer({host: 'https://eu.posthog.com'})).toMatchObject({region: 'eu', clientId: 'bx2C5sZRN03TkdjraCcetvQFPGH6N2Y9vRLkcKEy', redirect: {host: 'localhost'}})
  })

  it('rejects an unknown region as a usage error', () => {
    expect(() => resolveServer({region: 'ap'})).toThrow(expect.objectContaining({exit: ExitCode.usage}))
  })
})

describe('issuerFromHost', () => {
  it('refuses plain http for a non-loopback host', () => {
    expect(() => issuerFromHost('http://auth.example.com')).toThrow(/Refusing plain http/)
    expect(() => issuerFromHost('http://10.0.0.5:8000')).toThrow(expect.objectContaining({exit: ExitCode.usage}))
  })

  it('allows http on loopback hosts', () => {
    expect(issuerFromHost('http://127.0.0.1:8000/')).toBe('http://127.0.0.1:8000')
    expect(issuerFromHost('http://localhost:8000')).toBe('http://localhost:8000')
    expect(issuerFromHost('http://[::1]:8000')).toBe('http://[::1]:8000')
  })

  it('keeps an issuer path and adds https to a bare host', () => {
    expect(issuerFromHost('auth.example.com/tenant/')).toBe('https://auth.example.com/tenant')
  })

  it('rejects garbage', () => {
    expect(() => issuerFromHost('ftp://x')).toThrow(/https/)
    expect(() => issuerFromHost('https://')).toThrow(/not a valid URL/)
  })
})

describe('isLoopbackHost', () => {
  it('knows 127.0.0.0/8, localhost and ::1', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]', '::1']) expect(isLoopbackHost(host), host).toBe(true)
    for (const host of ['128.0.0.1', 'localhost.evil.com', '127.0.0.1.nip.io', '0.0.0.0']) expect(isLoopbackHost(host), host).toBe(false)
  })
})

describe('a loopback --host without a scheme', () => {
  it('gets a hint naming http:// instead of a TLS error later (exit 2)', () => {
    expect(() => issuerFromHost('127.0.0.1:8000')).toThrow(/has no scheme.*pass http:\/\/127\.0\.0\.1:8000/)
    expect(() => issuerFromHost('localhost:8000')).toThrow(/pass http:\/\/localhost:8000/)
    expect(issuerFromHost('posthog.example.com')).toBe('https://posthog.example.com')
    expect(issuerFromHost('http://127.0.0.1:8000')).toBe('http://127.0.0.1:8000')
  })
})
