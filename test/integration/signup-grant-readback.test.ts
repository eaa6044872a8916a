/**
 * A provisioning token response carries no `scope`: signup reads the grant back. Without an
 * introspection endpoint in the metadata, a call that needs `user:read` (`GET /api/users/@me/`) is the
 * only witness: a 403 there means `user:read` was not minted, which is refused like any missing scope.
 */
import {http as msw, HttpResponse} from 'msw'
import {afterEach, describe, expect, it} from 'vitest'

import {signup, type SignupOptions} from '../../src/flows/signup.js'
import {startHarness, US_ISSUER, type Harness} from '../support/harness.js'

let harness: Harness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

/** The mock's metadata, less `introspection_endpoint` (a server that does not offer RFC 7662). */
async function setupWithoutIntrospection(): Promise<Harness> {
  const h = await startHarness()
  harness = h
  const metadata = (await (await fetch(`${US_ISSUER}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>
  delete metadata.introspection_endpoint
  h.server.use(
    msw.get(`${US_ISSUER}/.well-known/oauth-authorization-server`, () => HttpResponse.json(metadata)),
    msw.get(`${US_ISSUER}/.well-known/openid-configuration`, () => HttpResponse.json(metadata)),
  )
  return h
}

const options = (extra: Partial<SignupOptions> = {}): SignupOptions => ({email: 'new@example.com', store: true, timeoutSeconds: 10, ...extra})

describe('reading the grant back without introspection', () => {
  it('user:read works: the signup completes, the grant kept as requested but NOT verified, saying why', async () => {
    const h = await setupWithoutIntrospection()
    const {result} = await signup(h.deps, options())
    expect(result.session).toMatchObject({verified: false, unverified_reason: 'the server offers no introspection endpoint', missing_required_scopes: null})
    expect(h.mock.control.snapshot().counters.requests['POST /oauth/introspect/']).toBeUndefined()
  })

  it('user:read was not minted (403 from /api/users/@me/): exit 4 naming it, nothing stored', async () => {
    const h = await setupWithoutIntrospection()
    h.mock.control.configure({mint_scopes_drop: ['user:read']})
    const error = await signup(h.deps, options()).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 4})
    expect((error as Error).message).toContain('user:read (signup, required)')
    expect(await (await h.deps.sessions()).list()).toEqual([])
  })
})
