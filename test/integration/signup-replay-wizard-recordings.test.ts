/**
 * Replay of the PostHog wizard's recorded provisioning responses (PostHog/wizard
 * src/utils/__fixtures__/provisioning.ts, "recorded from the live agentic provisioning API", and the
 * shapes its src/utils/__tests__/provisioning.test.ts feeds provisionNewAccount) and of answers built from
 * PostHog's code (ee/api/agentic_provisioning), through onramp's signup and projects flows: the served mock
 * answers everything else, MSW overrides one answer per scenario. After the account exists, no scenario may
 * strand it: the failure names the email, what was kept and the one command that continues, never "try again
 * in a minute".
 */
import {http as msw, HttpResponse} from 'msw'
import {describe, expect, it} from 'vitest'

import {signup, type SignupOptions} from '../../src/flows/signup.js'
import {harnessPerTest, type Harness, US_ISSUER} from '../support/harness.js'

// PostHog/wizard src/utils/__fixtures__/provisioning.ts (recorded responses).
const TOKEN_RESPONSE = {
  token_type: 'bearer',
  access_token: 'pha_recorded_access',
  refresh_token: 'phr_recorded_refresh',
  expires_in: 31536000,
  account: {id: 'org_recorded', payment_credentials: 'orchestrator', available_teams: [{id: 4242, name: 'my-app', organization_id: 'org_recorded', organization_name: 'acme'}]},
}
const RESOURCE_RESPONSE = {status: 'complete', id: '4242', complete: {access_configuration: {api_key: 'phc_recorded', host: 'https://us.posthog.com', personal_api_key: 'phx_recorded'}}}
const RESOURCE_READBACK_RESPONSE = {status: 'complete', id: '4242', complete: {access_configuration: {api_key: 'phc_recorded', host: 'https://us.posthog.com'}}}

const ACCOUNT_REQUESTS = `${US_ISSUER}/api/agentic/provisioning/account_requests`
const TOKEN = `${US_ISSUER}/api/agentic/oauth/token`
const RESOURCES = `${US_ISSUER}/api/agentic/provisioning/resources`

const {start} = harnessPerTest()
const options = (extra: Partial<SignupOptions> = {}): SignupOptions => ({email: 'replay@example.com', store: true, timeoutSeconds: 10, ...extra})

async function failure(h: Harness, extra: Partial<SignupOptions> = {}): Promise<Error & {exit: number; nextCommand?: string}> {
  const error = await signup(h.deps, options(extra)).catch((caught: unknown) => caught)
  if (!(error instanceof Error)) throw new Error('signup should have failed')
  return error as Error & {exit: number; nextCommand?: string}
}

function expectNotStranded(error: Error & {nextCommand?: string}, next: RegExp): void {
  expect(error.message).toContain('replay@example.com')
  expect(error.message).not.toMatch(/try again in a minute|retry in a minute/i)
  expect(error.message).toMatch(/do not sign up again/)
  expect(error.nextCommand).toMatch(next)
}

describe('recorded answers that work', () => {
  it('the recorded create answer: project, key and the personal API key handed out; unknown fields ignored', async () => {
    const h = await start()
    h.server.use(msw.post(RESOURCES, () => HttpResponse.json({...RESOURCE_RESPONSE, service_id: 'analytics', billing: {plan: 'free'}})))
    const {result} = await signup(h.deps, options())
    expect(result.project).toEqual({id: '4242', api_key: 'phc_recorded', host: 'https://us.posthog.com', personal_api_key: 'phx_recorded'})
  })

  it('an account answer with unknown fields and a requires_auth-free oauth answer', async () => {
    const h = await start()
    const {result} = await signup(h.deps, options())
    expect(result.account.email).toBe('replay@example.com')
    expect(result.session?.verified).toBe(true)
  })

  it('a create answer without its api_key is read back once (GET), as the wizard does; the read-back has no PAT', async () => {
    const h = await start()
    h.server.use(msw.post(RESOURCES, () => HttpResponse.json({status: 'complete', id: '4242', complete: {access_configuration: {host: 'https://us.posthog.com'}}})))
    h.server.use(msw.get(`${RESOURCES}/4242`, () => HttpResponse.json(RESOURCE_READBACK_RESPONSE)))
    const {result} = await signup(h.deps, options())
    expect(result.project).toEqual({id: '4242', api_key: 'phc_recorded', host: 'https://us.posthog.com', personal_api_key: null})
  })

  it('a token answer without `account` (optional in the wizard schema): @me names the organization', async () => {
    const h = await start()
    let rewrote = false
    h.server.use(
      msw.post(TOKEN, async ({request}) => {
        if (rewrote) return undefined
        rewrote = true
        // The mock's own answer (real tokens), minus its account.
        const body = await request.text()
        const response = await fetch(TOKEN, {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body})
        const json = (await response.json()) as Record<string, unknown>
        delete json.account
        return HttpResponse.json(json)
      }),
    )
    const {result} = await signup(h.deps, options())
    expect(result.account.id).toEqual(expect.any(String))
    expect(result.project.api_key).toMatch(/^phc_/)
  })
})

describe('after the account exists, nothing is stranded', () => {
  it('a 200 carrying a typed error at account_requests is that error (no account yet): exit 4', async () => {
    const h = await start()
    h.server.use(msw.post(ACCOUNT_REQUESTS, () => HttpResponse.json({id: 'req_3', type: 'error', error: {code: 'forbidden', message: 'Account creation disabled'}})))
    const error = await failure(h)
    expect(error.exit).toBe(4)
    expect(error.message).toContain('Account creation disabled')
  })

  it('requires_auth under {type:"redirect", redirect:{url}} (the wizard test shape) is read as a consent URL', async () => {
    const h = await start()
    h.server.use(msw.post(ACCOUNT_REQUESTS, () => HttpResponse.json({id: 'req_2', type: 'requires_auth', requires_auth: {type: 'redirect', redirect: {url: `${US_ISSUER}/agentic/authorize?state=s1`}}})))
    const error = await failure(h, {})
    // Non-interactive harness: the consent cannot be completed here, but the URL was understood (not "malformed").
    expect((error as {code?: string}).code).not.toBe('malformed_response')
  })

  it.each([
    ['a 502 from the token endpoint after the code was spent', () => msw.post(TOKEN, () => HttpResponse.json({error: 'server_error'}, {status: 502})), 6, /onramp login/],
    ['a 200 token answer without tokens', () => msw.post(TOKEN, () => HttpResponse.json({token_type: 'bearer', account: TOKEN_RESPONSE.account})), 6, /onramp login/],
    ['a 429 at the code exchange (the code is spent)', () => msw.post(TOKEN, () => HttpResponse.json({type: 'error', error: {code: 'rate_limited', message: 'slow down'}}, {status: 429, headers: {'retry-after': '3600'}})), 6, /onramp login/],
    ['invalid_scope at the exchange', () => msw.post(TOKEN, () => HttpResponse.json({error: 'invalid_scope', error_description: 'no'}, {status: 400})), 4, /onramp login/],
  ])('%s: the account is named, nothing stored, "onramp login"', async (_name, override, exit, next) => {
    const h = await start()
    h.server.use(override())
    const error = await failure(h)
    expect(error.exit).toBe(exit)
    expectNotStranded(error, next)
    expect(await (await h.deps.sessions()).list()).toEqual([])
  })

  it.each([
    ['an incomplete project answer whose read-back fails', () => [msw.post(RESOURCES, () => HttpResponse.json({status: 'error', id: '0'})), msw.get(/resources\/\d+$/, () => HttpResponse.json({}, {status: 500}))]],
    ['an unreadable project answer (status only)', () => [msw.post(RESOURCES, () => HttpResponse.json({status: 'complete'})), msw.get(/resources\/\d+$/, () => HttpResponse.json({}, {status: 500}))]],
    ['a 200 project answer carrying a typed error', () => [msw.post(RESOURCES, () => HttpResponse.json({status: 'error', id: '', error: {code: 'server_error', message: 'boom'}}))]],
    ['a 5xx at project creation', () => [msw.post(RESOURCES, () => HttpResponse.json({status: 'error', id: '', error: {code: 'server_error', message: 'boom'}}, {status: 500}))]],
  ])('%s: exit 6, the session stored, the command that continues', async (_name, overrides) => {
    const h = await start()
    h.server.use(...overrides())
    const error = await failure(h)
    expect(error.exit).toBe(6)
    expectNotStranded(error, /^onramp projects (show \d+|create --id ID)$/)
    expect(error.message).toMatch(/session is stored/)
    expect(await (await h.deps.sessions()).list()).toHaveLength(1)
  })

  it('--no-store and a failed project: the tokens were revoked and it says so; "onramp login"', async () => {
    const h = await start()
    h.server.use(msw.post(RESOURCES, () => HttpResponse.json({}, {status: 500})))
    const error = await failure(h, {store: false})
    expectNotStranded(error, /onramp login/)
    expect(error.message).toMatch(/tokens were revoked/)
    expect(h.mock.control.snapshot().counters.revocations).toBeGreaterThanOrEqual(1)
  })

  it('an --output-env value with a line break (a hostile key): exit 6 after saying what was created; nothing written', async () => {
    const h = await start()
    h.server.use(msw.post(RESOURCES, () => HttpResponse.json({...RESOURCE_RESPONSE, complete: {access_configuration: {api_key: 'phc_a\nNODE_OPTIONS=--require=./evil.js', host: 'https://us.posthog.com'}}})))
    const {writeFileSync, readFileSync} = await import('node:fs')
    const file = `${h.home}/env`
    writeFileSync(file, '')
    const error = await failure(h, {outputEnv: file})
    expect(error.exit).toBe(6)
    expectNotStranded(error, /onramp projects show 4242/)
    expect(readFileSync(file, 'utf8')).toBe('')
  })

  it('an --output-env file that disappears after the account exists: the unwritten key travels with the error (for stderr only)', async () => {
    const h = await start()
    const {mkdirSync, rmSync} = await import('node:fs')
    mkdirSync(`${h.home}/out`)
    const file = `${h.home}/out/env`
    h.server.use(
      msw.post(RESOURCES, async () => {
        rmSync(`${h.home}/out`, {recursive: true, force: true})
        return undefined
      }),
    )
    const error = (await failure(h, {outputEnv: file})) as Error & {exit: number; unwritten?: Record<string, string>}
    expect(error.exit).toBe(2)
    expect(error.unwritten?.POSTHOG_PROJECT_API_KEY).toMatch(/^phc_/)
    expectNotStranded(error, /onramp projects show \d+/)
  })

  it('the grant cannot be read back (introspection 403): kept as requested, verified:false with the reason', async () => {
    const h = await start()
    h.server.use(msw.post(`${US_ISSUER}/oauth/introspect/`, () => new HttpResponse('', {status: 403})))
    const {result} = await signup(h.deps, options())
    expect(result.session).toMatchObject({verified: false, unverified_reason: expect.stringMatching(/refused.*403/), missing_required_scopes: null})
  })
})
