/**
 * The Bearer resource endpoints through the provisioning client (server.md 4.2 "Bearer resource
 * endpoints", issue 11): idempotent create by project_id, show, rotate_credentials, remove, and their
 * errors in the status envelope. The project's mock serves these endpoints (test/mock-server/
 * provisioning-resources.ts); a test overrides it with `server.use(...)` only where it needs an answer
 * the mock does not give (a PAT on a read, a failed rotation, a 429).
 */
import {http as msw, HttpResponse} from 'msw'
import {describe, expect, it} from 'vitest'

import {NetworkError, ScopeError, UsageError} from '../../src/errors.js'
import {createHttp} from '../../src/http.js'
import type {Logger} from '../../src/log.js'
import {requestAccount} from '../../src/provisioning/account-requests.js'
import type {ProvisioningDeps} from '../../src/provisioning/api.js'
import {ProvisioningTokenRejectedError} from '../../src/provisioning/errors.js'
import {provisionProject, removeProject, rotateProjectKey, showProject, withTokenRefresh} from '../../src/provisioning/resources.js'
import {exchangeProvisioningCode, refreshProvisioningToken, type ProvisioningGrant} from '../../src/provisioning/token.js'
import {createMockServer, WIZARD_CLIENT_IDS} from '../mock-server/index.js'
import {mswForFile} from '../support/msw.js'

const server = mswForFile()

const CLIENT_ID = WIZARD_CLIENT_IDS.us
const RESOURCES = '/api/agentic/provisioning/resources'

/** A project without the personal API key, which create and rotate mint anew and a read never returns. */
const withoutPat = ({personal_api_key: _pat, ...project}: {personal_api_key?: string | undefined}) => project
const fail = (status: number, code: string, message: string, id = '') => HttpResponse.json({status: 'error', id, error: {code, message}}, {status})

async function setup() {
  const mock = createMockServer({now: () => Date.UTC(2026, 10, 23, 12, 0, 0)})
  server.use(...mock.handlers)
  // Every request the client sends, as "METHOD path", to prove which endpoint a call reached.
  const requests: string[] = []
  server.events.removeAllListeners('request:start')
  server.events.on('request:start', ({request}) => void requests.push(`${request.method} ${new URL(request.url).pathname}`))
  const sleeps: number[] = []
  const sleep = async (ms: number) => void sleeps.push(ms)
  const logger: Logger = {event: () => {}}
  const deps: ProvisioningDeps = {http: createHttp({userAgent: 'onramp/test', sleep}), logger, sleep}
  const issuer = mock.issuer
  const signupGrant = async (email = 'new@example.com'): Promise<ProvisioningGrant> => {
    const account = await requestAccount(deps, {issuer, clientId: CLIENT_ID, email, scopes: ['user:read', 'project:read']})
    if (account.type !== 'oauth') throw new Error('expected a code')
    return exchangeProvisioningCode(deps, {issuer, code: account.code, verifier: account.pkce.verifier})
  }
  const grant = await signupGrant()
  return {mock, deps, issuer, grant, sleeps, requests, signupGrant, session: {issuer, accessToken: grant.access_token}}
}

describe('provisionProject', () => {
  it('without project_id: the signup project, its key and host', async () => {
    const {mock, deps, grant, session} = await setup()
    const project = await provisionProject(deps, session)
    expect(project.id).toBe(String(grant.account!.available_teams[0]?.id))
    expect(project.api_key).toMatch(/^phc_/)
    expect(project.host).toBe(mock.issuer)
    // The wizard app issues a personal API key on create (credentials.py maybe_create_provisioned_pat).
    expect(project.personal_api_key).toMatch(/^phx_/)
  })

  it('the same project_id twice gives the same project; another id a new one', async () => {
    const {deps, grant, session} = await setup()
    const first = await provisionProject(deps, {...session, projectId: 'ci-run-1', projectName: 'CI run 1'})
    const again = await provisionProject(deps, {...session, projectId: 'ci-run-1', projectName: 'CI run 1'})
    const other = await provisionProject(deps, {...session, projectId: 'ci-run-2'})
    expect(withoutPat(again)).toEqual(withoutPat(first))
    expect(first.id).not.toBe(String(grant.account!.available_teams[0]?.id))
    expect(other.id).not.toBe(first.id)
  })

  it('sends project_name only with a project_id, and label_prefix as given', async () => {
    const {deps, issuer, session} = await setup()
    const bodies: unknown[] = []
    server.use(
      msw.post(`${issuer}${RESOURCES}`, async ({request}) => {
        bodies.push(await request.clone().json())
        return undefined
      }),
    )
    await provisionProject(deps, session)
    await provisionProject(deps, {...session, projectId: 'p-1', projectName: 'Preview', labelPrefix: 'ci'})
    expect(bodies).toEqual([{}, {project_id: 'p-1', configuration: {project_name: 'Preview'}, label_prefix: 'ci'}])
  })

  it('a project_id linked to another organization: 409 explained, exit 2', async () => {
    const {deps, issuer, session, signupGrant} = await setup()
    await provisionProject(deps, {...session, projectId: 'shared-id'})
    const stranger = await signupGrant('stranger@example.com')
    const error = await provisionProject(deps, {issuer, accessToken: stranger.access_token, projectId: 'shared-id'}).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(UsageError)
    expect(error).toMatchObject({code: 'project_id_conflict'})
    expect((error as Error).message).toMatch(/shared-id is already linked to a project in another organization/)
  })

  it('an invalid label_prefix is a usage error with the server words', async () => {
    const {deps, session} = await setup()
    await expect(provisionProject(deps, {...session, labelPrefix: 'x'.repeat(26)})).rejects.toMatchObject({exit: 2, code: 'invalid_label_prefix', message: expect.stringContaining('25 characters')})
  })

  it('spec shape: a PAT is passed on when the server grants one', async () => {
    const {deps, issuer, session} = await setup()
    server.use(msw.post(`${issuer}${RESOURCES}`, () => HttpResponse.json({status: 'complete', id: '9', complete: {access_configuration: {api_key: 'phc_a', host: issuer, personal_api_key: 'phx_b'}}})))
    expect(await provisionProject(deps, session)).toEqual({id: '9', api_key: 'phc_a', host: issuer, personal_api_key: 'phx_b'})
  })
})

describe('showProject, rotateProjectKey, removeProject', () => {
  it('create -> show -> rotate (a new key) -> remove -> show is "no such project"', async () => {
    const {deps, session} = await setup()
    const created = await provisionProject(deps, {...session, projectId: 'cycle'})
    expect(await showProject(deps, {...session, id: created.id})).toEqual(withoutPat(created))
    const rotated = await rotateProjectKey(deps, {...session, id: created.id})
    expect(rotated.id).toBe(created.id)
    expect(rotated.api_key).not.toBe(created.api_key)
    expect((await showProject(deps, {...session, id: created.id})).api_key).toBe(rotated.api_key)
    expect(await removeProject(deps, {...session, id: created.id})).toEqual({removed: true, id: created.id})
    const gone = await showProject(deps, {...session, id: created.id}).catch((caught: unknown) => caught)
    expect(gone).toBeInstanceOf(UsageError)
    expect(gone).toMatchObject({code: 'project_not_found', message: expect.stringContaining(`No such project ${created.id}`)})
  })

  it('an id that is not a number, or not reachable with this token, is "no such project"', async () => {
    const {deps, session} = await setup()
    await expect(showProject(deps, {...session, id: 'abc'})).rejects.toMatchObject({exit: 2, code: 'project_not_found'})
    await expect(showProject(deps, {...session, id: '999999'})).rejects.toMatchObject({exit: 2, code: 'project_not_found'})
  })

  it('the id is path-encoded: it cannot reach another endpoint', async () => {
    const {deps, session, requests} = await setup()
    await expect(removeProject(deps, {...session, id: '1/rotate_credentials'})).rejects.toBeInstanceOf(Error)
    expect(requests).toContain(`POST ${RESOURCES}/1%2Frotate_credentials/remove`)
    expect(requests.filter((request) => request.endsWith('/rotate_credentials'))).toEqual([])
  })

  it('spec shape: a failed rotation or removal is a server failure, exit 6', async () => {
    const {deps, issuer, session} = await setup()
    server.use(
      msw.post(`${issuer}${RESOURCES}/:id/rotate_credentials`, ({params}) => fail(500, 'credential_rotation_failed', 'Failed to rotate credentials', String(params.id))),
      msw.post(`${issuer}${RESOURCES}/:id/remove`, ({params}) => fail(500, 'remove_failed', 'Failed to remove resource', String(params.id))),
    )
    await expect(rotateProjectKey(deps, {...session, id: '1'})).rejects.toMatchObject({exit: 6, code: 'server_failed', message: expect.stringContaining('Failed to rotate credentials')})
    await expect(removeProject(deps, {...session, id: '1'})).rejects.toBeInstanceOf(NetworkError)
  })

  it('spec shape: a partner without resource provisioning is exit 4', async () => {
    const {deps, issuer, session} = await setup()
    server.use(msw.post(`${issuer}${RESOURCES}`, () => fail(403, 'forbidden', 'Resource provisioning not enabled for this partner')))
    await expect(provisionProject(deps, session)).rejects.toBeInstanceOf(ScopeError)
  })

  it('a short 429 on rotate is waited once (POST is not retried by the http layer)', async () => {
    const {deps, issuer, session, sleeps} = await setup()
    const created = await provisionProject(deps, {...session, projectId: 'busy'})
    let calls = 0
    server.use(
      msw.post(`${issuer}${RESOURCES}/:id/rotate_credentials`, () =>
        calls++ === 0 ? HttpResponse.json({status: 'error', id: '', error: {code: 'rate_limited', message: 'x'}}, {status: 429, headers: {'retry-after': '5'}}) : undefined,
      ),
    )
    expect((await rotateProjectKey(deps, {...session, id: created.id})).id).toBe(created.id)
    expect(sleeps).toEqual([5000])
  })
})

describe('an expired access token: one refresh, one retry', () => {
  it('withTokenRefresh refreshes once when the server says the token expired, then succeeds', async () => {
    const {mock, deps, issuer, grant} = await setup()
    mock.control.advanceClock(3601)
    let refreshes = 0
    const project = await withTokenRefresh(
      {
        accessToken: grant.access_token,
        refresh: async () => {
          refreshes++
          return (await refreshProvisioningToken(deps, {issuer, refreshToken: grant.refresh_token})).access_token
        },
      },
      (accessToken) => provisionProject(deps, {issuer, accessToken}),
    )
    expect(refreshes).toBe(1)
    expect(project.id).toBe(String(grant.account!.available_teams[0]?.id))
  })

  it('a token refused again after the refresh is exit 5, with onramp signup as the next command', async () => {
    const {deps, issuer} = await setup()
    let refreshes = 0
    const error = await withTokenRefresh(
      {accessToken: 'pha_unknown', refresh: async () => (refreshes++, 'pha_still_unknown')},
      (accessToken) => provisionProject(deps, {issuer, accessToken}),
    ).catch((caught: unknown) => caught)
    expect(refreshes).toBe(1)
    expect(error).toBeInstanceOf(ProvisioningTokenRejectedError)
    expect(error).toMatchObject({exit: 5, nextCommand: 'onramp signup'})
  })

  it('other errors are not refreshed', async () => {
    const {deps, session} = await setup()
    let refreshes = 0
    await expect(withTokenRefresh({accessToken: session.accessToken, refresh: async () => (refreshes++, 'x')}, (accessToken) => showProject(deps, {...session, accessToken, id: 'abc'}))).rejects.toBeInstanceOf(
      UsageError,
    )
    expect(refreshes).toBe(0)
  })
})
