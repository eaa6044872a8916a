/**
 * Which credential `onramp projects` uses and how it stays valid (issue 11 item 2): the stored
 * provisioning session (preferred over a login session), refreshed under the lock when it expires and
 * once after a 401, ONRAMP_TOKEN as-is, and a login session the endpoints refuse explained with
 * `onramp signup`.
 */
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createProject, showProjectFlow} from '../../src/flows/projects.js'
import type {Session} from '../../src/session/session.js'
import {DEFAULT_USER_EMAIL} from '../mock-server/index.js'
import {issueTokenPair} from '../mock-server/tokens.js'
import {startHarness, US_ISSUER, type Harness} from '../support/harness.js'
import {PROJECT_TEST_SCOPES, storeProvisioningSession} from '../support/projects-session.js'

let h: Harness
beforeEach(async () => {
  h = await startHarness()
})
afterEach(async () => {
  await h.close()
})

const refreshes = () => h.mock.control.snapshot().counters.provisioning.token_requests.refresh_token
const stored = async (session: Session) => (await h.deps.sessions()).get(session)

/** A login (OAuth) session for `clientId`, with tokens the mock really issued. */
async function storeLoginSession(clientId: string, obtainedAt = h.deps.now()): Promise<Session> {
  const pair = issueTokenPair(h.mock.state, {surface: 'oauth', client_id: clientId, user_email: DEFAULT_USER_EMAIL, scopes: PROJECT_TEST_SCOPES})
  const session: Session = {
    issuer: US_ISSUER,
    client_id: clientId,
    region: 'us',
    access_token: pair.access.token,
    refresh_token: pair.refresh.token,
    expires_at: new Date(pair.access.expires_at).toISOString(),
    scope: [...PROJECT_TEST_SCOPES],
    user: {email: DEFAULT_USER_EMAIL},
    obtained_at: obtainedAt.toISOString(),
    kind: 'oauth',
  }
  await (await h.deps.sessions()).save(session)
  return session
}

describe('the stored session', () => {
  it('no session at all: exit 3, pointing at onramp signup', async () => {
    await expect(createProject(h.deps, {projectId: 'x'})).rejects.toMatchObject({exit: 3, code: 'no_provisioning_session', nextCommand: 'onramp signup'})
  })

  it('a provisioning session is preferred over a newer login session on the same host', async () => {
    h.mock.control.upsertApp({client_id: 'login-app', scopes: PROJECT_TEST_SCOPES})
    await storeProvisioningSession(h)
    h.advance(10)
    await storeLoginSession('login-app')
    const result = await createProject(h.deps, {projectId: 'prefer'})
    expect(result.session).toMatchObject({kind: 'provisioning', client_id: 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM'})
  })

  it('an access token about to expire (CLI clock) is refreshed under the lock before the call, and the new pair stored', async () => {
    const {session} = await storeProvisioningSession(h)
    h.advance(3600)
    const result = await createProject(h.deps, {projectId: 'after-an-hour'})
    expect(result.created).toBe(true)
    expect(refreshes()).toBe(1)
    const now = await stored(session)
    expect(now?.access_token).not.toBe(session.access_token)
    expect(now?.refresh_token).not.toBe(session.refresh_token)
    expect(now?.kind).toBe('provisioning')
  })

  it('a 401 "Access token expired" the CLI did not see coming: one refresh, one retry, the new pair stored', async () => {
    const {session} = await storeProvisioningSession(h)
    h.mock.control.advanceClock(3601) // the server's clock only: the CLI still thinks the token is good
    const result = await createProject(h.deps, {projectId: 'server-says-expired'})
    expect(refreshes()).toBe(1)
    // Introspection is repeated with the new token, so `created` is still known.
    expect(result.created).toBe(true)
    expect((await stored(session))?.access_token).not.toBe(session.access_token)
  })

  it('a token still refused after the refresh: exit 5 with onramp signup, one refresh only', async () => {
    await storeProvisioningSession(h)
    h.mock.control.configure({fail_next: {path: '/api/agentic/provisioning/resources/1', status: 401, code: 'unauthorized', message: 'Invalid access token', count: 2}})
    await expect(showProjectFlow(h.deps, {id: '1'})).rejects.toMatchObject({exit: 5, nextCommand: 'onramp signup'})
    expect(refreshes()).toBe(1)
  })

  it('a refresh token the server refuses: exit 5, run onramp signup (not login)', async () => {
    const {session} = await storeProvisioningSession(h, {save: false})
    await (await h.deps.sessions()).save({...session, refresh_token: 'phr_unknownunknownunknown'})
    h.advance(3600)
    const error = await createProject(h.deps, {projectId: 'dead'}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 5, nextCommand: 'onramp signup'})
    expect((error as Error).message).toMatch(/onramp signup/)
    expect((error as Error).message).not.toMatch(/onramp login/)
  })
  it('a refused token and no refresh token to replace it: exit 5, run onramp signup, nothing refreshed', async () => {
    const {session} = await storeProvisioningSession(h, {save: false})
    await (await h.deps.sessions()).save({...session, refresh_token: null})
    h.mock.control.advanceClock(3601)
    await expect(showProjectFlow(h.deps, {id: '1'})).rejects.toMatchObject({exit: 5, nextCommand: 'onramp signup', message: expect.stringContaining('no refresh token')})
    expect(refreshes()).toBe(0)
  })
})

describe('a login session', () => {
  it('of an app that is not a provisioning partner: explained, exit 3, run onramp signup', async () => {
    h.mock.control.upsertApp({client_id: 'login-only', scopes: PROJECT_TEST_SCOPES})
    await storeLoginSession('login-only')
    const error = await createProject(h.deps, {projectId: 'nope'}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 3, code: 'provisioning_session_required', nextCommand: 'onramp signup'})
    expect((error as Error).message).toMatch(/refused the login session of app login-only .*Partner is deactivated/)
  })

  it('whose token the endpoints refuse even after a refresh: explained, exit 3', async () => {
    const session = await storeLoginSession('c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM')
    h.mock.control.configure({fail_next: {path: '/api/agentic/provisioning/resources/5', status: 401, code: 'unauthorized', message: 'Invalid access token', count: 2}})
    await expect(showProjectFlow(h.deps, {id: '5'})).rejects.toMatchObject({exit: 3, code: 'provisioning_session_required'})
    expect(h.mock.control.snapshot().counters.grants.refresh_token).toBe(1) // the login session was refreshed once, at the OAuth endpoint
    expect((await stored(session))?.kind).toBe('oauth')
  })

  it('that the endpoints accept (the mock accepts a partner app login token): used', async () => {
    await storeLoginSession('c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM')
    const result = await createProject(h.deps, {projectId: 'login-ok'})
    expect(result.session.kind).toBe('oauth')
    expect(result.created).toBe(true)
  })
})

describe('ONRAMP_TOKEN', () => {
  it('is used as-is, never stored or refreshed', async () => {
    const {grant} = await storeProvisioningSession(h, {save: false})
    h.env.ONRAMP_TOKEN = grant.access_token
    const first = await createProject(h.deps, {projectId: 'env-token'})
    const again = await createProject(h.deps, {projectId: 'env-token'})
    expect(first.session).toMatchObject({source: 'env', kind: null, storage: {kind: 'env', location: 'ONRAMP_TOKEN'}})
    expect([first.created, again.created]).toEqual([true, false])
    expect(h.credentialsText()).toBe('')
  })

  it('expired: exit 5 saying it cannot be refreshed and lives an hour; no refresh attempted', async () => {
    const {grant} = await storeProvisioningSession(h)
    h.env.ONRAMP_TOKEN = grant.access_token
    h.mock.control.advanceClock(3601)
    const error = await showProjectFlow(h.deps, {id: '1'}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 5, code: 'onramp_token_rejected'})
    expect((error as Error).message).toMatch(/ONRAMP_TOKEN is used as-is and cannot be refreshed: a provisioning access token lives 1 hour/)
    expect(refreshes()).toBe(0)
  })
})
