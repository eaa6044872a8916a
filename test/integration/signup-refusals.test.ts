/**
 * Nothing is created that cannot work: refusals BEFORE any account request (invalid email, an app that
 * may not create accounts, a required scope outside the app's ceiling, an unknown app), and the
 * refusals AFTER the account exists (the exchange's invalid_scope, a token minted with fewer scopes
 * than requested), which say so and keep nothing.
 */
import {describe, expect, it} from 'vitest'

import {signup, type SignupOptions} from '../../src/flows/signup.js'
import {REQUIRED_SIGNUP_SCOPES} from '../../src/scopes/constant.js'
import {type Harness, harnessPerTest, US_ISSUER, WIZARD_CLIENT_ID} from '../support/harness.js'

const {start: setup} = harnessPerTest()

const options = (extra: Partial<SignupOptions> = {}): SignupOptions => ({email: 'new@example.com', store: true, timeoutSeconds: 10, ...extra})
const provisioningCounters = (h: Harness) => h.mock.control.snapshot().counters.provisioning
const invalidScopeLines = (h: Harness) => h.logLines().filter((line) => line.event === 'oauth.invalid_scope')

describe('refused before any account is requested', () => {
  it.each(['not-an-email', 'two@@example.com', 'no-dot@example', 'space in@example.com', 'trailing.@example.com', 'a@-bad.com'])('invalid email %j: exit 2, no request at all', async (email) => {
    const h = await setup()
    await expect(signup(h.deps, options({email}))).rejects.toMatchObject({exit: 2, code: 'invalid_email'})
    expect(h.mock.control.snapshot().counters.requests).toEqual({})
  })

  it('an app that may not create accounts: exit 4 saying the admins must enable it, no account request', async () => {
    const h = await setup()
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, provisioning: {can_create_accounts: false}})
    const error = await signup(h.deps, options()).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 4, code: 'account_creation_disabled'})
    expect((error as Error).message).toMatch(/admins must enable account creation/)
    expect(provisioningCounters(h).account_requests).toBe(0)
    expect(provisioningCounters(h).accounts_created).toBe(0)
  })

  it('a required signup scope outside the narrowed ceiling: exit 4 naming it, logged, no account request', async () => {
    const h = await setup()
    const narrowed = REQUIRED_SIGNUP_SCOPES.filter((scope) => scope !== 'dashboard:write')
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: narrowed})
    const error = await signup(h.deps, options()).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 4})
    expect((error as Error).message).toContain('dashboard:write (signup, required)')
    expect(provisioningCounters(h).account_requests).toBe(0)
    expect(provisioningCounters(h).accounts_created).toBe(0)
    // client_registration read once: the ceiling and the flags come from the same answer.
    expect(provisioningCounters(h).client_registrations).toBe(1)
    expect(invalidScopeLines(h).length).toBeGreaterThanOrEqual(1)
  })

  it('an optional scope outside the ceiling is dropped with a warning and the signup goes on', async () => {
    const h = await setup()
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: [...REQUIRED_SIGNUP_SCOPES]})
    const {result} = await signup(h.deps, options())
    expect(result.session?.scopes).not.toContain('notebook:write')
    expect(h.stderr.text()).toMatch(/optional scopes.*notebook:write/)
  })

  it('an app the provisioning API does not know: exit 2 (check --client-id), no account request', async () => {
    const h = await setup()
    await expect(signup(h.deps, options({host: US_ISSUER, clientId: 'nobody-knows-me'}))).rejects.toMatchObject({exit: 2, code: 'unknown_client', message: expect.stringMatching(/nobody-knows-me.*api\/agentic\/provisioning\/client_registration.*--client-id/)})
    expect(provisioningCounters(h).account_requests).toBe(0)
  })
})

describe('refused after the account exists', () => {
  it('invalid_scope at the code exchange: exit 4 saying the account was created and how to reach it; logged; nothing stored', async () => {
    const h = await setup()
    // The ceiling read fails (a server without client_registration), so the preflight cannot see the narrowing.
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: REQUIRED_SIGNUP_SCOPES.filter((scope) => scope !== 'insight:write')})
    h.mock.control.configure({fail_next: {path: '/api/agentic/provisioning/client_registration', status: 404}})
    const error = await signup(h.deps, options()).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 4, nextCommand: 'onramp login'})
    expect((error as Error).message).toMatch(/account was created/)
    expect(provisioningCounters(h).accounts_created).toBe(1)
    expect(invalidScopeLines(h).length).toBeGreaterThanOrEqual(1)
    expect(await (await h.deps.sessions()).list()).toEqual([])
  })

  it('a token minted with fewer scopes than requested: exit 4 naming them, revoked, nothing stored', async () => {
    const h = await setup()
    h.mock.control.configure({mint_scopes_drop: ['dashboard:write']})
    const error = await signup(h.deps, options()).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 4})
    const message = (error as Error).message
    expect(message).toContain('dashboard:write (signup, required)')
    expect(message).toMatch(/account was created, but the server minted its token with too few scopes/)
    expect(await (await h.deps.sessions()).list()).toEqual([])
    expect(h.credentialsText()).toBe('')
    expect(h.mock.control.snapshot().counters.revocations).toBeGreaterThanOrEqual(1)
    // No project was asked for with a token that was refused.
    expect(h.mock.control.snapshot().counters.requests['POST /api/agentic/provisioning/resources']).toBeUndefined()
    expect(invalidScopeLines(h).length).toBeGreaterThanOrEqual(1)
  })

  it('a token short only of an optional scope is kept, with a warning', async () => {
    const h = await setup()
    h.mock.control.configure({mint_scopes_drop: ['notebook:write']})
    const {result} = await signup(h.deps, options())
    expect(result.session?.scopes).not.toContain('notebook:write')
    expect(h.stderr.text()).toMatch(/did not grant these optional scopes: notebook:write/)
  })
})
