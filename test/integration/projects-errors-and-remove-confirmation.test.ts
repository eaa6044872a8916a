/**
 * Every error of the resource endpoints through the `projects` flows, each with its exit code (issue 11
 * item 3; server.md 4.2), and the confirmation `remove` needs: asked on a terminal, --yes otherwise.
 */
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import type {Deps} from '../../src/deps.js'
import {renderProjectRemove} from '../../src/render/projects.js'
import {createProject, removeProjectFlow, rotateProjectKeyFlow, showProjectFlow} from '../../src/flows/projects.js'
import {startHarness, WIZARD_CLIENT_ID, type Harness} from '../support/harness.js'
import {storeProvisioningSession} from '../support/projects-session.js'

let h: Harness
beforeEach(async () => {
  h = await startHarness()
})
afterEach(async () => {
  await h.close()
})

const RESOURCES = '/api/agentic/provisioning/resources'
const failNext = (fault: Record<string, unknown>) => h.mock.control.configure({fail_next: fault as never})

describe('resource endpoint errors', () => {
  it('an --id linked to another organization: the 409 explained, exit 2', async () => {
    await storeProvisioningSession(h, {email: 'first@example.com'})
    await createProject(h.deps, {projectId: 'shared'})
    await storeProvisioningSession(h, {email: 'second@example.com'}) // another account, kept beside the first: another organization
    const error = await createProject(h.deps, {projectId: 'shared', account: 'second@example.com'}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 2, code: 'project_id_conflict'})
    expect((error as Error).message).toMatch(/shared is already linked to a project in another organization.*choose another --id/)
  })

  it('an id that is not a number (invalid_resource_id), another organization\'s project (forbidden) or a removed one (not_found): exit 2 "no such project"', async () => {
    await storeProvisioningSession(h, {email: 'first@example.com'})
    const mine = await createProject(h.deps, {projectId: 'mine'})
    await storeProvisioningSession(h, {email: 'second@example.com'})
    const account = 'second@example.com'
    await expect(showProjectFlow(h.deps, {id: 'run-1', account})).rejects.toMatchObject({exit: 2, code: 'project_not_found', message: expect.stringContaining('invalid_resource_id')})
    await expect(rotateProjectKeyFlow(h.deps, {id: mine.project.id, account})).rejects.toMatchObject({exit: 2, code: 'project_not_found', message: expect.stringContaining('forbidden')})
    const own = await createProject(h.deps, {projectId: 'own', account})
    await removeProjectFlow(h.deps, {id: own.project.id, yes: true, account})
    await expect(removeProjectFlow(h.deps, {id: own.project.id, yes: true, account})).rejects.toMatchObject({exit: 2, code: 'project_not_found'})
  })

  it('credential_rotation_failed and remove_failed: server failures, exit 6, and the project is still there', async () => {
    await storeProvisioningSession(h)
    const {project} = await createProject(h.deps, {projectId: 'fragile'})
    failNext({path: `${RESOURCES}/${project.id}/rotate_credentials`, status: 500})
    await expect(rotateProjectKeyFlow(h.deps, {id: project.id})).rejects.toMatchObject({exit: 6, code: 'server_failed', message: expect.stringContaining('credential_rotation_failed')})
    failNext({path: `${RESOURCES}/${project.id}/remove`, status: 500})
    await expect(removeProjectFlow(h.deps, {id: project.id, yes: true})).rejects.toMatchObject({exit: 6, code: 'server_failed', message: expect.stringContaining('remove_failed')})
    expect((await showProjectFlow(h.deps, {id: project.id})).project.api_key).toBe(project.api_key)
  })

  it('a rate limit longer than onramp waits: exit 6 with the time to retry', async () => {
    await storeProvisioningSession(h)
    h.mock.control.configure({empty_buckets: 'resource_creates'})
    const error = await createProject(h.deps, {projectId: 'busy'}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 6, code: 'rate_limited'})
    expect((error as Error).message).toMatch(/rate limiting creating the project .*Retry after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in \d+ s\)/)
  })

  it('a short 429 is waited out once, with a word on stderr', async () => {
    await storeProvisioningSession(h)
    failNext({path: `${RESOURCES}`, status: 429, retry_after: 1})
    const result = await createProject(h.deps, {projectId: 'short-wait'})
    expect(result.created).toBe(true)
    expect(h.stderr.text()).toMatch(/rate limiting this app: waiting 1 s/)
  })

  it('an app whose provisioning is deactivated or without resource provisioning: exit 4', async () => {
    await storeProvisioningSession(h)
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, provisioning: {can_provision_resources: false}})
    await expect(createProject(h.deps, {projectId: 'x'})).rejects.toMatchObject({exit: 4, code: 'provisioning_disabled'})
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, provisioning: {active: false}})
    await expect(createProject(h.deps, {projectId: 'x'})).rejects.toMatchObject({exit: 4, code: 'partner_deactivated'})
  })

  it('a 2xx that is not the spec\'s shape (a proxy in the way): exit 6', async () => {
    await storeProvisioningSession(h)
    failNext({path: `${RESOURCES}`, status: 200, malformed: true})
    await expect(createProject(h.deps, {projectId: 'x'})).rejects.toMatchObject({exit: 6, code: 'malformed_response'})
  })
})

describe('remove asks first', () => {
  const withUi = (answer: boolean, asked: string[]): Deps => ({
    ...h.deps,
    ui: {...h.deps.ui, interactive: true, confirm: async (message: string) => (asked.push(message), answer)},
  })

  it('without a terminal and without --yes: exit 2 naming --yes, nothing removed', async () => {
    await storeProvisioningSession(h)
    const {project} = await createProject(h.deps, {projectId: 'keep'})
    const error = await removeProjectFlow(h.deps, {id: project.id, yes: false}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 2, code: 'confirmation_required'})
    expect((error as Error).message).toMatch(/pass --yes/)
    expect((await showProjectFlow(h.deps, {id: project.id})).project.id).toBe(project.id)
  })

  it('on a terminal: asks, and removes when confirmed', async () => {
    await storeProvisioningSession(h)
    const {project} = await createProject(h.deps, {projectId: 'go'})
    const asked: string[] = []
    expect(await removeProjectFlow(withUi(true, asked), {id: project.id, yes: false})).toMatchObject({removed: true, id: project.id})
    expect(asked).toEqual([expect.stringContaining(`Remove project ${project.id}`)])
    await expect(showProjectFlow(h.deps, {id: project.id})).rejects.toMatchObject({code: 'project_not_found'})
  })

  it('on a terminal: declined is an answer (removed: false, exit 0 "nothing removed"); --yes does not ask', async () => {
    await storeProvisioningSession(h)
    const {project} = await createProject(h.deps, {projectId: 'no'})
    const asked: string[] = []
    const declined = await removeProjectFlow(withUi(false, asked), {id: project.id, yes: false})
    expect(declined).toMatchObject({removed: false, id: project.id})
    expect(renderProjectRemove(declined)).toBe(`Nothing removed: project ${project.id} was kept.\n`)
    expect((await showProjectFlow(h.deps, {id: project.id})).project.id).toBe(project.id)
    await removeProjectFlow(withUi(false, asked), {id: project.id, yes: true})
    expect(asked).toHaveLength(1)
  })
})
