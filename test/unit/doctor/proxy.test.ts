import {describe, expect, it} from 'vitest'

import {displayProxy, proxyFor} from '../../../src/doctor/proxy.js'

describe('which proxy variable applies to the issuer (undici EnvHttpProxyAgent rules)', () => {
  it('none set: direct', () => {
    expect(proxyFor('https://us.posthog.com', {})).toEqual({kind: 'none'})
  })

  it('https: lower-case https_proxy before HTTPS_PROXY, then the HTTP ones', () => {
    expect(proxyFor('https://h.example', {HTTPS_PROXY: 'http://a', https_proxy: 'http://b'})).toMatchObject({kind: 'proxy', variable: 'https_proxy'})
    expect(proxyFor('https://h.example', {HTTPS_PROXY: 'http://a', HTTP_PROXY: 'http://c'})).toMatchObject({kind: 'proxy', variable: 'HTTPS_PROXY'})
    expect(proxyFor('https://h.example', {HTTP_PROXY: 'http://c'})).toMatchObject({kind: 'proxy', variable: 'HTTP_PROXY', url: 'http://c'})
  })

  it('http: only the HTTP variables', () => {
    expect(proxyFor('http://127.0.0.1:8000', {HTTPS_PROXY: 'http://a'})).toEqual({kind: 'none'})
    expect(proxyFor('http://127.0.0.1:8000', {http_proxy: 'http://b', HTTP_PROXY: 'http://c'})).toMatchObject({variable: 'http_proxy'})
  })

  it.each([
    ['posthog.com', true],
    ['.posthog.com', true],
    ['*.posthog.com', true],
    ['us.posthog.com:443', true],
    ['us.posthog.com:8443', false],
    ['eu.posthog.com', false],
    ['*', true],
    ['other.example, posthog.com', true],
  ])('NO_PROXY=%s matches us.posthog.com: %s', (value, matches) => {
    const choice = proxyFor('https://us.posthog.com', {HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: value})
    expect(choice.kind).toBe(matches ? 'no_proxy' : 'proxy')
  })

  it('no_proxy (lower case) wins over NO_PROXY', () => {
    expect(proxyFor('https://us.posthog.com', {HTTPS_PROXY: 'http://p', no_proxy: 'posthog.com', NO_PROXY: 'nothing.example'})).toMatchObject({kind: 'no_proxy', variable: 'no_proxy', entry: 'posthog.com'})
  })

  it('shows a proxy without its credentials', () => {
    expect(displayProxy('http://alice:s3cret@proxy.corp:3128')).toBe('http://proxy.corp:3128')
    expect(displayProxy('not a url')).toBe('(unparseable URL)')
  })
})
