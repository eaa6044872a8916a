import {describe, expect, it, vi} from 'vitest'

import {ExitCode, InterruptedError} from '../../../src/errors.js'
import type {Fetch} from '../../../src/http.js'
import {
  DEVICE_CODE_GRANT,
  pollDeviceGrant,
  processDeviceAuthorizationResponse,
  processDevicePollResponse,
  type DeviceAuthorization,
} from '../../../src/oauth/device.js'
import type {Discovered} from '../../../src/oauth/discovery.js'

const context = {issuer: 'https://auth.example.com', clientId: 'cli'}
const discovered = {issuer: context.issuer, metadata: {issuer: context.issuer, token_endpoint: `${context.issuer}/token`}, fromCache: false} as unknown as Discovered
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), {status, headers: {'content-type': 'application/json', ...headers}})
const authorization: DeviceAuthorization = {device_code: 'dc', user_code: 'ABCD-EFGH', verification_uri: 'https://auth.example.com/device', verification_uri_complete: undefined, expires_in: 600, interval: 5}

describe('processDeviceAuthorizationResponse (RFC 8628 section 3.2)', () => {
  it('reads the codes; interval defaults to 5 s', async () => {
    const read = await processDeviceAuthorizationResponse(json({device_code: 'd', user_code: 'U', verification_uri: 'https://x/device', expires_in: 900}), context)
    expect(read).toEqual({device_code: 'd', user_code: 'U', verification_uri: 'https://x/device', verification_uri_complete: undefined, expires_in: 900, interval: 5})
  })

  it('refuses what the flow cannot use: no user_code, a non-http verification URI, no expires_in', async () => {
    await expect(processDeviceAuthorizationResponse(json({device_code: 'd', verification_uri: 'https://x', expires_in: 1}), context)).rejects.toMatchObject({code: 'device_grant_failed', message: /no user_code/})
    await expect(processDeviceAuthorizationResponse(json({device_code: 'd', user_code: 'U', verification_uri: 'javascript:alert(1)', expires_in: 1}), context)).rejects.toMatchObject({message: /not http/})
    await expect(processDeviceAuthorizationResponse(json({device_code: 'd', user_code: 'U', verification_uri: 'https://x'}), context)).rejects.toMatchObject({message: /expires_in/})
  })

  it('an error answer: invalid_scope for the caller, unauthorized_client mapped, a bare 400 named', async () => {
    await expect(processDeviceAuthorizationResponse(json({error: 'invalid_scope', error_description: 'no x'}, 400), context)).rejects.toMatchObject({name: 'ScopeRefusal', serverSaid: 'no x'})
    await expect(processDeviceAuthorizationResponse(json({error: 'unauthorized_client'}, 400), context)).rejects.toMatchObject({code: 'unauthorized_client', exit: ExitCode.usage})
    await expect(processDeviceAuthorizationResponse(new Response('', {status: 400}), context)).rejects.toMatchObject({code: 'device_grant_failed', message: /HTTP 400/})
  })
})

describe('processDevicePollResponse (section 3.5)', () => {
  it('tokens, pending, slow_down, Retry-After', async () => {
    await expect(processDevicePollResponse(json({access_token: 'a', refresh_token: 'r', expires_in: 60, scope: 'x y'}), context)).resolves.toEqual({
      kind: 'tokens',
      tokens: {access_token: 'a', refresh_token: 'r', expires_in: 60, scope: 'x y', idTokenClaims: undefined},
    })
    await expect(processDevicePollResponse(json({error: 'authorization_pending'}, 400), context)).resolves.toEqual({kind: 'pending'})
    await expect(processDevicePollResponse(json({error: 'slow_down'}, 400), context)).resolves.toEqual({kind: 'slow_down'})
    await expect(processDevicePollResponse(new Response('', {status: 503, headers: {'retry-after': '7'}}), context)).resolves.toEqual({kind: 'retry_after', waitMs: 7000})
  })

  it('access_denied and expired_token end the login with exit 3; a 5xx is exit 6', async () => {
    await expect(processDevicePollResponse(json({error: 'access_denied'}, 400), context)).rejects.toMatchObject({exit: ExitCode.notLoggedIn, code: 'access_denied'})
    await expect(processDevicePollResponse(json({error: 'expired_token'}, 400), context)).rejects.toMatchObject({exit: ExitCode.notLoggedIn, code: 'expired_token', message: /again/})
    await expect(processDevicePollResponse(new Response('oops', {status: 502}), context)).rejects.toMatchObject({exit: ExitCode.network})
  })
})

/** A token endpoint answering from a script, and a sleep that only records (no real waiting). */
function scripted(answers: Array<() => Response>): {http: Fetch; waits: number[]; sleep: (ms: number) => Promise<void>; bodies: URLSearchParams[]; clock: () => number} {
  const waits: number[] = []
  const bodies: URLSearchParams[] = []
  let now = 0
  return {
    waits,
    bodies,
    clock: () => now,
    sleep: async (ms) => {
      waits.push(ms)
      now += ms
    },
    http: async (_url, init) => {
      bodies.push(new URLSearchParams(String(init?.body)))
      return answers.shift()!()
    },
  }
}

describe('pollDeviceGrant', () => {
  it('waits the interval before each poll; slow_down adds 5 s for this and every later poll', async () => {
    const pending = () => json({error: 'authorization_pending'}, 400)
    const slow = () => json({error: 'slow_down'}, 400)
    const run = scripted([pending, slow, pending, slow, pending, () => json({access_token: 'at'})])
    const tokens = await pollDeviceGrant(run.http, {discovered, clientId: 'cli', authorization}, {sleep: run.sleep, clock: run.clock})
    expect(tokens.access_token).toBe('at')
    expect(run.waits).toEqual([5000, 5000, 10_000, 10_000, 15_000, 15_000])
    expect(run.bodies[0]!.get('grant_type')).toBe(DEVICE_CODE_GRANT)
    expect(run.bodies[0]!.get('device_code')).toBe('dc')
    expect(run.bodies[0]!.get('client_id')).toBe('cli')
  })

  it('gives up at the deadline expires_in sets (exit 3, expired_token), never waiting past it', async () => {
    const run = scripted(Array.from({length: 10}, () => () => json({error: 'authorization_pending'}, 400)))
    const error = await pollDeviceGrant(run.http, {discovered, clientId: 'cli', authorization: {...authorization, expires_in: 12}}, {sleep: run.sleep, clock: run.clock}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.notLoggedIn, code: 'expired_token'})
    expect(run.waits).toEqual([5000, 5000, 2000])
  })

  it('--timeout ends the wait sooner than the code would (exit 3, login_timeout), never waiting past it', async () => {
    const run = scripted(Array.from({length: 10}, () => () => json({error: 'authorization_pending'}, 400)))
    const error = await pollDeviceGrant(run.http, {discovered, clientId: 'cli', authorization}, {sleep: run.sleep, clock: run.clock, timeoutSeconds: 7}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.notLoggedIn, code: 'login_timeout', nextCommand: 'onramp login --device'})
    expect((error as Error).message).toMatch(/within 7 s \(--timeout\)/)
    expect(run.waits).toEqual([5000, 2000])
    expect(run.bodies).toHaveLength(1)
  })

  it('a --timeout longer than the code lives leaves the deadline to expires_in (expired_token)', async () => {
    const run = scripted(Array.from({length: 10}, () => () => json({error: 'authorization_pending'}, 400)))
    const error = await pollDeviceGrant(run.http, {discovered, clientId: 'cli', authorization: {...authorization, expires_in: 12}}, {sleep: run.sleep, clock: run.clock, timeoutSeconds: 300}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.notLoggedIn, code: 'expired_token'})
    expect(run.waits).toEqual([5000, 5000, 2000])
  })

  it('an abort (Ctrl-C) during a wait ends it at once with the abort reason', async () => {
    // Fake timers: the real (default) sleep's 30 s timer never fires here, so only the abort can end the wait.
    vi.useFakeTimers()
    try {
      const stop = new AbortController()
      const run = scripted([() => json({error: 'authorization_pending'}, 400)])
      let settled = false
      const done = pollDeviceGrant(run.http, {discovered, clientId: 'cli', authorization: {...authorization, interval: 30}}, {signal: stop.signal})
        .catch((caught: unknown) => caught)
        .finally(() => (settled = true))
      await vi.advanceTimersByTimeAsync(1000) // one second into the first 30 s wait
      expect(settled).toBe(false)
      stop.abort(new InterruptedError('stopped'))
      await vi.advanceTimersByTimeAsync(0) // no time passes: the abort alone ends it
      expect(settled).toBe(true)
      expect(await done).toBeInstanceOf(InterruptedError)
      expect(run.bodies).toEqual([]) // no poll went out
      expect(vi.getTimerCount()).toBe(0) // and the wait's timer was cleared
    } finally {
      vi.useRealTimers()
    }
  })

  it('network failures back off (doubling) and end with exit 6 after three in a row', async () => {
    const down = () => {
      throw new TypeError('fetch failed')
    }
    const run = scripted([down, down, down])
    const error = await pollDeviceGrant(run.http, {discovered, clientId: 'cli', authorization}, {sleep: run.sleep, clock: run.clock}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: ExitCode.network, code: 'server_unreachable'})
    expect(run.waits).toEqual([5000, 10_000, 20_000])
  })
})
