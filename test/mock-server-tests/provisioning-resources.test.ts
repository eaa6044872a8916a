/** server.md section 4.2, the Bearer resource endpoints: auth, create (idempotent by project_id), read, rotate, remove. */
import {describe, expect, it} from 'vitest'

import {bearer, login, postJson, provisioningToken, rateLimitOf, resourcesRequest, signupTokens, startMock, statusErrorOf, US_CLIENT, useMsw} from './helpers.js'

useMsw()

type Mock = ReturnType<typeof startMock>

const API_KEY = /^phc_[A-Za-z0-9]{43}$/

interface Complete {
  status: 'complete'
  id: string
  complete: {access_configuration: {api_key: string; host: string; personal_api_key?: string}}
}

async function signup(mock: Mock, email = 'p@example.com') {
  const tokens = await signupTokens(mock, {email, scopes: ['user:read', 'project:read']})
  const signupTeam = mock.control.snapshot().users.find((user) => user.email === email)!.teams[0]!.id
  return {...tokens, signupTeam}
}

const create = (mock: Mock, token: string, body: unknown) => resourcesRequest(mock, token, {body})
const show = (mock: Mock, token: string, id: string | number) => resourcesRequest(mock, token, {path: `/${id}`, method: 'GET'})
const rotate = (mock: Mock, token: string, id: string | number, body: unknown = {}) => resourcesRequest(mock, token, {path: `/${id}/rotate_credentials`, body})
const remove = (mock: Mock, token: string, id: string | number) => resourcesRequest(mock, token, {path: `/${id}/remove`})

describe('Bearer auth: status envelope with id "", before any charge', () => {
  it('401 Missing bearer token | Invalid access token | Access token expired | Partner is deactivated; 403 not enabled', async () => {
    const mock = startMock()
    const {access_token: token} = await signup(mock)
    const missing = await resourcesRequest(mock, undefined)
    expect(rateLimitOf(missing)).toBeNull()
    expect(await statusErrorOf(missing)).toEqual({status: 401, id: '', code: 'unauthorized', message: 'Missing bearer token'})
    expect(await statusErrorOf(await resourcesRequest(mock, 'pha_unknown'))).toEqual({status: 401, id: '', code: 'unauthorized', message: 'Invalid access token'})
    mock.control.upsertApp({client_id: US_CLIENT, provisioning: {can_provision_resources: false}})
    expect(await statusErrorOf(await resourcesRequest(mock, token))).toEqual({status: 403, id: '', code: 'forbidden', message: 'Resource provisioning not enabled for this partner'})
    mock.control.upsertApp({client_id: US_CLIENT, provisioning: {active: false}})
    expect(await statusErrorOf(await resourcesRequest(mock, token))).toEqual({status: 401, id: '', code: 'unauthorized', message: 'Partner is deactivated'})
    mock.control.upsertApp({client_id: US_CLIENT, provisioning: {active: true, can_provision_resources: true}})
    mock.control.expireTokens()
    expect(await statusErrorOf(await resourcesRequest(mock, token))).toEqual({status: 401, id: '', code: 'unauthorized', message: 'Access token expired'})
  })
})

describe('POST /api/agentic/provisioning/resources', () => {
  it('without project_id: the signup project, project_name ignored, nothing created', async () => {
    const mock = startMock()
    const {access_token: token, signupTeam} = await signup(mock)
    const response = await create(mock, token, {configuration: {project_name: 'Ignored'}})
    expect(response.status).toBe(200)
    expect(rateLimitOf(response)).toMatchObject({limit: 10, remaining: 9})
    // The wizard app issues personal API keys (its recorded create answer carries one).
    expect(await response.json()).toEqual({
      status: 'complete',
      id: String(signupTeam),
      complete: {access_configuration: {api_key: expect.stringMatching(API_KEY), host: 'https://us.posthog.com', personal_api_key: expect.stringMatching(/^phx_/)}},
    })
    expect(mock.control.snapshot().totals.teams).toBe(2)
  })

  it('with project_id: a new team named project_name (default "Default project"), the same one on a retry', async () => {
    const mock = startMock()
    const {access_token: token, signupTeam} = await signup(mock)
    const first = (await (await create(mock, token, {project_id: 'ci-run-1', configuration: {project_name: 'CI run 1'}})).json()) as Complete
    expect(first.id).not.toBe(String(signupTeam))
    const again = (await (await create(mock, token, {project_id: 'ci-run-1', configuration: {project_name: 'Other'}})).json()) as Complete
    expect({...again, complete: {access_configuration: {...again.complete.access_configuration, personal_api_key: 'x'}}}).toEqual({...first, complete: {access_configuration: {...first.complete.access_configuration, personal_api_key: 'x'}}})
    const unnamed = (await (await create(mock, token, {project_id: 'ci-run-2'})).json()) as Complete
    const teams = mock.control.snapshot().users.find((user) => user.email === 'p@example.com')!.teams
    expect(teams.map((team) => [String(team.id), team.name])).toEqual([
      [String(signupTeam), 'Default project'],
      [first.id, 'CI run 1'],
      [unnamed.id, 'Default project'],
    ])
    expect(mock.control.snapshot().counters.provisioning.resources_created).toBe(2)
  })

  it('the new team joins the access token AND its refresh token: reachable now and after a refresh', async () => {
    const mock = startMock()
    const tokens = await signup(mock)
    const created = (await (await create(mock, tokens.access_token, {project_id: 'p1'})).json()) as Complete
    expect((await show(mock, tokens.access_token, created.id)).status).toBe(200)
    const refreshed = (await (await provisioningToken(mock, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token})).json()) as {access_token: string}
    expect((await show(mock, refreshed.access_token, created.id)).status).toBe(200)
  })

  it('a project_id linked to another organization -> 409 project_id_conflict (not refunded)', async () => {
    const mock = startMock()
    const a = await signup(mock, 'a@example.com')
    const b = await signup(mock, 'b@example.com')
    await create(mock, a.access_token, {project_id: 'shared'})
    const conflict = await create(mock, b.access_token, {project_id: 'shared'})
    expect(rateLimitOf(conflict)).toMatchObject({remaining: 8})
    expect(await statusErrorOf(conflict)).toEqual({status: 409, id: '', code: 'project_id_conflict', message: 'Project ID already linked to another organization'})
  })

  it('label_prefix: a string of at most 25 characters without control or format characters (refunded)', async () => {
    const mock = startMock()
    const {access_token: token} = await signup(mock)
    const cases: Array<[unknown, string]> = [
      [42, 'label_prefix must be a string'],
      ['x'.repeat(26), 'label_prefix must be 25 characters or fewer'],
      ['bad\u0007', 'label_prefix must not contain control or format characters'],
      ['zero\u200bwidth', 'label_prefix must not contain control or format characters'],
    ]
    for (const [value, message] of cases) {
      const response = await create(mock, token, {label_prefix: value})
      expect(rateLimitOf(response)).toMatchObject({remaining: 10})
      expect(await statusErrorOf(response)).toEqual({status: 400, id: '', code: 'invalid_label_prefix', message})
    }
    expect((await create(mock, token, {label_prefix: 'x'.repeat(25)})).status).toBe(200)
  })

  it('the signup project removed: without project_id -> 404 team_not_found', async () => {
    const mock = startMock()
    const {access_token: token, signupTeam} = await signup(mock)
    await remove(mock, token, signupTeam)
    expect(await statusErrorOf(await create(mock, token, {}))).toEqual({status: 404, id: '', code: 'team_not_found', message: 'Team not found'})
  })

  it('a personal API key (phx_) only for apps with issues_personal_api_key, on create and rotate, never on a read (credentials.py, views/resources.py)', async () => {
    const mock = startMock()
    const {access_token: token, signupTeam} = await signup(mock)
    const pat = (body: unknown) => (body as Complete).complete.access_configuration.personal_api_key
    expect(pat(await (await create(mock, token, {})).json())).toMatch(/^phx_/)
    expect(pat(await (await show(mock, token, signupTeam)).json())).toBeUndefined()
    expect(pat(await (await postJson(`${mock.issuer}/api/agentic/provisioning/resources/${signupTeam}/rotate_credentials`, {}, bearer(token))).json())).toMatch(/^phx_/)
    mock.control.upsertApp({client_id: US_CLIENT, provisioning: {issues_personal_api_key: false}})
    expect(pat(await (await create(mock, token, {})).json())).toBeUndefined()
  })

  it('no personal API key when the grant holds nothing inside the ceiling', async () => {
    const mock = startMock()
    const {access_token: token} = await signup(mock)
    mock.control.upsertApp({client_id: US_CLIENT, scopes: ['survey:read']})
    expect(((await (await create(mock, token, {})).json()) as Complete).complete.access_configuration.personal_api_key).toBeUndefined()
  })
})

describe('resources/{id}: read, rotate_credentials, remove', () => {
  it('{id} errors: non-integer 400 invalid_resource_id, outside the token 403 forbidden, with the id', async () => {
    const mock = startMock()
    const {access_token: token} = await signup(mock)
    expect(await statusErrorOf(await show(mock, token, 'abc'))).toEqual({status: 400, id: 'abc', code: 'invalid_resource_id', message: 'Invalid resource ID'})
    // Team 1 belongs to the seeded dev@example.com.
    expect(await statusErrorOf(await show(mock, token, 1))).toEqual({status: 403, id: '1', code: 'forbidden', message: 'Resource not accessible with this token'})
  })

  it('GET: the same complete shape, the current key', async () => {
    const mock = startMock()
    const {access_token: token, signupTeam} = await signup(mock)
    const response = await show(mock, token, signupTeam)
    expect(rateLimitOf(response)).toMatchObject({limit: 30, remaining: 29})
    const key = mock.control.snapshot().users.find((user) => user.email === 'p@example.com')!.teams[0]!.api_key
    expect(await response.json()).toEqual({status: 'complete', id: String(signupTeam), complete: {access_configuration: {api_key: key, host: 'https://us.posthog.com'}}})
  })

  it('rotate_credentials: a new key replaces the old one (label_prefix validated first)', async () => {
    const mock = startMock()
    const {access_token: token, signupTeam} = await signup(mock)
    const before = ((await (await show(mock, token, signupTeam)).json()) as Complete).complete.access_configuration.api_key
    expect(await statusErrorOf(await rotate(mock, token, 'abc', {label_prefix: 1}))).toMatchObject({code: 'invalid_label_prefix', id: 'abc'})
    const rotated = (await (await rotate(mock, token, signupTeam)).json()) as Complete
    expect(rotated.complete.access_configuration.api_key).toMatch(API_KEY)
    expect(rotated.complete.access_configuration.api_key).not.toBe(before)
    expect(((await (await show(mock, token, signupTeam)).json()) as Complete).complete.access_configuration.api_key).toBe(rotated.complete.access_configuration.api_key)
  })

  it('remove: 200 {status:"removed", id}; afterwards GET -> 404 not_found; the same project_id makes a new project', async () => {
    const mock = startMock()
    const {access_token: token} = await signup(mock)
    const created = (await (await create(mock, token, {project_id: 'run-7'})).json()) as Complete
    const removed = await remove(mock, token, created.id)
    expect(await removed.json()).toEqual({status: 'removed', id: created.id})
    expect(await statusErrorOf(await show(mock, token, created.id))).toEqual({status: 404, id: created.id, code: 'not_found', message: 'Resource not found'})
    const recreated = (await (await create(mock, token, {project_id: 'run-7'})).json()) as Complete
    expect(recreated.id).not.toBe(created.id)
  })

  it('an OAuth login token of the same partner reaches the user\'s teams too', async () => {
    const mock = startMock({autoApprove: true})
    const tokens = await login(mock, {scope: 'user:read'})
    expect(((await (await create(mock, tokens.access_token, {})).json()) as Complete).id).toBe('1')
  })

  it('injected failures use the endpoint\'s own code: credential_rotation_failed, remove_failed', async () => {
    const mock = startMock()
    const {access_token: token, signupTeam} = await signup(mock)
    mock.control.configure({fail_next: [{path: `/api/agentic/provisioning/resources/${signupTeam}/rotate_credentials`}, {path: `/api/agentic/provisioning/resources/${signupTeam}/remove`}]})
    expect(await statusErrorOf(await rotate(mock, token, signupTeam))).toEqual({status: 500, id: '', code: 'credential_rotation_failed', message: 'Failed to rotate credentials'})
    expect(await statusErrorOf(await remove(mock, token, signupTeam))).toEqual({status: 500, id: '', code: 'remove_failed', message: 'Failed to remove resource'})
  })
})
