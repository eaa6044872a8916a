import {describe, expect, it} from 'vitest'

import type {Fetch} from '../../../src/http.js'
import {explainRefusal, probeAuthorizationRequest} from '../../../src/oauth/authorize-probe.js'

const answering = (response: () => Response): Fetch => async () => response()
const url = new URL('https://auth.example/authorize?client_id=c')
const redirectUri = 'http://127.0.0.1:43123/callback'

describe('probeAuthorizationRequest', () => {
  it('a redirect (to a login page) or a page is no refusal; neither is a 5xx or no answer at all', async () => {
    expect(await probeAuthorizationRequest(answering(() => new Response(null, {status: 302, headers: {location: '/login'}})), url)).toBeUndefined()
    expect(await probeAuthorizationRequest(answering(() => new Response('<form>', {status: 200})), url)).toBeUndefined()
    expect(await probeAuthorizationRequest(answering(() => new Response('', {status: 503})), url)).toBeUndefined()
    expect(
      await probeAuthorizationRequest(async () => {
        throw new TypeError('fetch failed')
      }, url),
    ).toBeUndefined()
  })

  it('an empty 403 points at the port; an OAuth error about something else is shown as it is', async () => {
    const empty = await probeAuthorizationRequest(answering(() => new Response(null, {status: 403})), url)
    expect(empty).toEqual({status: 403, said: undefined, aboutRedirect: true})
    expect(explainRefusal({refusal: empty, redirectUri, clientId: 'c'})).toMatch(/HTTP 403, no explanation\): the likely cause .*port 43123.*--port N with a port registered for c/)
    const nonce = await probeAuthorizationRequest(answering(() => Response.json({error: 'invalid_request', error_description: 'nonce \u001b[31mrequired'}, {status: 400})), url)
    expect(nonce).toMatchObject({status: 400, said: expect.stringMatching(/^invalid_request: nonce (\S+)?required$/), aboutRedirect: false})
    expect(explainRefusal({refusal: nonce, redirectUri, clientId: 'c'})).toMatch(/HTTP 400 \(invalid_request: nonce .*required\)\): fix what it says/)
    expect(explainRefusal({refusal: nonce, redirectUri, clientId: 'c'})).not.toContain('\u001b')
  })
})
