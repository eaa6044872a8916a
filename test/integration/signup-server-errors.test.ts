/**
 * How `onramp signup` meets a server in trouble: 429 with and without Retry-After (waited out when
 * short, else exit 6 saying when), 5xx, and answers that cannot be read; never an account or a session
 * that cannot work, and the account request retried once only when its answer was lost.
 */
import {describe, expect, it} from 'vitest'

import {signup, type SignupOptions} from '../../src/flows/signup.js'
import {type Harness, harnessPerTest} from '../support/harness.js'

const {start: setup} = harnessPerTest()

const ACCOUNT_REQUESTS = '/api/agentic/provisioning/account_requests'
const TOKEN = '/api/agentic/oauth/token'
const RESOURCES = '/api/agentic/provisioning/resources'
const options = (extra: Partial<SignupOptions> = {}): SignupOptions => ({email: 'new@example.com', store: true, timeoutSeconds: 10, ...extra})
const counters = (h: Harness) => h.mock.control.snapshot().counters.provisioning

describe('rate limits', () => {
  it('a 429 with a short Retry-After is waited out (said on stderr) and the signup completes', async () => {
    const h = await setup()
    h.mock.control.configure({fail_next: {path: ACCOUNT_REQUESTS, status: 429, retry_after: 1}})
    const {result} = await signup(h.deps, options())
    expect(result.project.api_key).toMatch(/^phc_/)
    expect(h.stderr.text()).toMatch(/waiting 1 s/)
    expect(counters(h).accounts_created).toBe(1)
  })

  it('a 429 with a long Retry-After: exit 6 saying when to retry, no account', async () => {
    const h = await setup()
    h.mock.control.configure({fail_next: {path: ACCOUNT_REQUESTS, status: 429, retry_after: 3600}})
    const error = await signup(h.deps, options()).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 6, code: 'rate_limited'})
    expect((error as Error).message).toMatch(/Retry after .*\(in 3600 s\)/)
    expect(counters(h).accounts_created).toBe(0)
    // A rate limit is not a lost answer: no second attempt.
    expect(h.mock.control.snapshot().counters.requests[`POST ${ACCOUNT_REQUESTS}`]).toBe(1)
  })

  it('a 429 without Retry-After: exit 6 saying the server did not say when', async () => {
    const h = await setup()
    h.mock.control.configure({fail_next: {path: ACCOUNT_REQUESTS, status: 429, retry_after: null}})
    const error = await signup(h.deps, options()).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 6})
    expect((error as Error).message).toMatch(/did not say when to retry \(no Retry-After header\)/)
  })

  it('RateLimit-Remaining shows in --verbose', async () => {
    const h = await setup()
    await signup(h.deps, options({email: 'quiet@example.com'}))
    expect(h.stderr.text()).not.toMatch(/provisioning\.rate_limit/)
    const deps = await h.newDeps({verbose: true})
    await signup(deps, options())
    expect(h.stderr.text()).toMatch(/provisioning\.rate_limit step=account_requests status=200 limit=\d+ remaining=\d+/)
  })
})

describe('server failures', () => {
  it('5xx twice at account_requests: exit 6 after one retry, no account created', async () => {
    const h = await setup()
    h.mock.control.configure({fail_next: {path: ACCOUNT_REQUESTS, status: 500, count: 2}})
    const error = await signup(h.deps, options()).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 6})
    expect((error as Error).message).toMatch(/No account was created/)
    expect(counters(h).accounts_created).toBe(0)
    expect(h.mock.control.snapshot().counters.requests[`POST ${ACCOUNT_REQUESTS}`]).toBe(2)
  })

  it('5xx once at account_requests (nothing created): the retry creates the account', async () => {
    const h = await setup()
    h.mock.control.configure({fail_next: {path: ACCOUNT_REQUESTS, status: 500}})
    const {newAccount} = await signup(h.deps, options())
    expect(newAccount).toBe(true)
    expect(counters(h).accounts_created).toBe(1)
  })

  it('5xx at the code exchange: exit 6, nothing stored', async () => {
    const h = await setup()
    h.mock.control.configure({fail_next: {path: TOKEN, status: 502}})
    await expect(signup(h.deps, options())).rejects.toMatchObject({exit: 6})
    expect(await (await h.deps.sessions()).list()).toEqual([])
  })

  it('5xx at resources: exit 6, and the session stays stored for onramp projects create', async () => {
    const h = await setup()
    h.mock.control.configure({fail_next: {path: RESOURCES, status: 500}})
    await expect(signup(h.deps, options())).rejects.toMatchObject({exit: 6})
    expect(await (await h.deps.sessions()).list()).toHaveLength(1)
  })
})

describe('answers that cannot be read', () => {
  it.each([
    ['the code exchange', TOKEN],
    ['the project', RESOURCES],
  ])('a truncated JSON body at %s: exit 6, no token in the message', async (_what, path) => {
    const h = await setup()
    h.mock.control.configure({fail_next: {path, status: 200, malformed: true}})
    const error = await signup(h.deps, options()).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 6})
    expect((error as Error).message).not.toMatch(/pha_|phr_/)
  })

  it('a truncated answer to account_requests counts as lost: retried once, then the account is reached', async () => {
    const h = await setup()
    h.mock.control.configure({fail_next: {path: ACCOUNT_REQUESTS, status: 200, malformed: true}})
    const {result} = await signup(h.deps, options())
    expect(result.project.api_key).toMatch(/^phc_/)
  })
})
