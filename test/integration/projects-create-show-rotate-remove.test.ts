/**
 * `onramp projects` flows in-process against the MSW mock (issue 11): create is idempotent by --id and
 * says whether the project already existed, show reads it, rotate-key replaces the key (the old one is
 * gone), remove frees the --id, --output-env writes the three variables, and every result matches its
 * JSON Schema.
 */
import {readFileSync, statSync} from 'node:fs'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createProject, removeProjectFlow, rotateProjectKeyFlow, showProjectFlow} from '../../src/flows/projects.js'
import {startHarness, type Harness} from '../support/harness.js'
import {storeProvisioningSession} from '../support/projects-session.js'
import {schemaValidator} from '../support/schemas.js'

const schemas = {create: schemaValidator('projects-create'), show: schemaValidator('projects-show'), rotate: schemaValidator('projects-rotate-key'), remove: schemaValidator('projects-remove')}
function valid(check: (typeof schemas)[keyof typeof schemas], value: unknown): void {
  expect(check(value), JSON.stringify(check.errors)).toBe(true)
}

let h: Harness
beforeEach(async () => {
  h = await startHarness()
})
afterEach(async () => {
  await h.close()
})

interface Team {
  id: number
  name: string
  api_key: string
}
const teamsOf = (email: string): Team[] => (h.mock.control.snapshot().users as unknown as {email: string; teams: Team[]}[]).find((user) => user.email === email)?.teams ?? []

describe('projects create', () => {
  it('creates a project for a new --id, then returns the same one and says it already existed', async () => {
    const {grant} = await storeProvisioningSession(h)
    const first = await createProject(h.deps, {projectId: 'run-1', name: 'Run 1'})
    valid(schemas.create, first)
    expect(first.created).toBe(true)
    expect(first.project_id).toBe('run-1')
    expect(first.project.id).not.toBe(String(grant.account!.available_teams[0]?.id))
    expect(first.session).toMatchObject({kind: 'provisioning', source: 'store'})
    expect(teamsOf('ci@example.com').find((team) => String(team.id) === first.project.id)).toMatchObject({name: 'Run 1', api_key: first.project.api_key})

    const again = await createProject(h.deps, {projectId: 'run-1', name: 'Ignored'})
    valid(schemas.create, again)
    expect(again.created).toBe(false)
    // The wizard app issues a personal API key on every create (credentials.py): a new one each time.
    expect(first.project.personal_api_key).toMatch(/^phx_/)
    expect({...again.project, personal_api_key: null}).toEqual({...first.project, personal_api_key: null})
    expect(teamsOf('ci@example.com')).toHaveLength(2) // the signup project and run-1, once
  })

  it('a second process with the same --id also sees "already existed" (the token keeps the project in scope)', async () => {
    await storeProvisioningSession(h)
    const first = await createProject(h.deps, {projectId: 'run-2'})
    const again = await createProject(await h.newDeps(), {projectId: 'run-2'})
    expect([first.created, again.created]).toEqual([true, false])
  })

  it('--output-env appends the key, id and host (0600 when new)', async () => {
    await storeProvisioningSession(h)
    const file = path.join(h.home, 'github_env')
    const result = await createProject(h.deps, {projectId: 'env', outputEnv: file})
    expect(result.env_file).toBe(file)
    // The personal API key is written, and named in the result (the phx_ rule).
    expect(result.env_variables).toEqual(['POSTHOG_PROJECT_API_KEY', 'POSTHOG_PROJECT_ID', 'POSTHOG_HOST', 'POSTHOG_PERSONAL_API_KEY'])
    expect(readFileSync(file, 'utf8')).toBe(
      `POSTHOG_PROJECT_API_KEY=${result.project.api_key}\nPOSTHOG_PROJECT_ID=${result.project.id}\nPOSTHOG_HOST=${result.project.host}\nPOSTHOG_PERSONAL_API_KEY=${result.project.personal_api_key}\n`,
    )
    expect(statSync(file).mode & 0o777).toBe(0o600)
  })

  it('an empty --id is a usage error before any request', async () => {
    await storeProvisioningSession(h)
    const before = h.mock.control.snapshot().counters.provisioning.resources_created
    await expect(createProject(h.deps, {projectId: '  '})).rejects.toMatchObject({exit: 2})
    expect(h.mock.control.snapshot().counters.provisioning.resources_created).toBe(before)
  })
})

describe('show, rotate-key, remove', () => {
  it('the whole cycle: show reads the key, rotate-key replaces it, remove frees the --id', async () => {
    await storeProvisioningSession(h)
    const created = await createProject(h.deps, {projectId: 'cycle'})

    const shown = await showProjectFlow(h.deps, {id: created.project.id})
    valid(schemas.show, shown)
    expect(shown.project).toEqual({...created.project, personal_api_key: null})

    const file = path.join(h.home, 'rotated_env')
    const rotated = await rotateProjectKeyFlow(h.deps, {id: created.project.id, outputEnv: file})
    valid(schemas.rotate, rotated)
    expect(rotated.project.id).toBe(created.project.id)
    expect(rotated.project.api_key).not.toBe(created.project.api_key)
    expect(readFileSync(file, 'utf8')).toContain(`POSTHOG_PROJECT_API_KEY=${rotated.project.api_key}\n`)
    // The old key is gone: the project has only the new one.
    expect(teamsOf('ci@example.com').map((team) => team.api_key)).not.toContain(created.project.api_key)
    expect((await showProjectFlow(h.deps, {id: created.project.id})).project.api_key).toBe(rotated.project.api_key)

    const removed = await removeProjectFlow(h.deps, {id: created.project.id, yes: true})
    valid(schemas.remove, removed)
    expect(removed).toMatchObject({removed: true, id: created.project.id})
    await expect(showProjectFlow(h.deps, {id: created.project.id})).rejects.toMatchObject({exit: 2, code: 'project_not_found'})

    // The --id is free again: the same id makes a new project.
    const recreated = await createProject(h.deps, {projectId: 'cycle'})
    expect(recreated.created).toBe(true)
    expect(recreated.project.id).not.toBe(created.project.id)
  })

  it('the personal API key, when the server grants one, is shown and exported', async () => {
    h.mock.control.upsertApp({client_id: (await storeProvisioningSession(h)).session.client_id, provisioning: {issues_personal_api_key: true}})
    const file = path.join(h.home, 'pat_env')
    const created = await createProject(h.deps, {projectId: 'pat', outputEnv: file})
    valid(schemas.create, created)
    expect(created.project.personal_api_key).toMatch(/^phx_/)
    expect(readFileSync(file, 'utf8')).toContain(`POSTHOG_PERSONAL_API_KEY=${created.project.personal_api_key}\n`)
  })
})

describe('what a person reads', () => {
  it('create says created, already existed, or that it could not tell', async () => {
    const {renderProjectCreate} = await import('../../src/render/projects.js')
    const {grant} = await storeProvisioningSession(h)
    const first = await createProject(h.deps, {projectId: 'words'})
    const again = await createProject(h.deps, {projectId: 'words'})
    expect(renderProjectCreate(first)).toMatch(new RegExp(`^Created project ${first.project.id} for --id words\\.\\n  id +${first.project.id}\\n  api key +${first.project.api_key}\\n`))
    expect(renderProjectCreate(again)).toMatch(/already existed for --id words: the same project as before, nothing was created/)

    // ONRAMP_TOKEN whose read-back fails: the project is still made, `created` unknown.
    h.env.ONRAMP_TOKEN = grant.access_token
    h.mock.control.configure({fail_next: {path: '/oauth/introspect/', status: 500, count: 3}})
    const unknown = await createProject(h.deps, {projectId: 'words-2', clientId: 'not-a-known-client'})
    valid(schemas.create, unknown)
    expect(unknown.created).toBeNull()
    expect(renderProjectCreate(unknown)).toMatch(/could not tell whether it already existed/)
  })
})

describe('show, rotate-key and remove by the id a project was created with (--id)', () => {
  it('find the project create made for --id, and never leave one behind for an id nobody created', async () => {
    await storeProvisioningSession(h)
    const created = await createProject(h.deps, {projectId: 'ci-1'})
    const shown = await showProjectFlow(h.deps, {id: 'ci-1', byCreateId: true})
    valid(schemas.show, shown)
    expect(shown.project).toMatchObject({id: created.project.id, api_key: created.project.api_key})
    const rotated = await rotateProjectKeyFlow(h.deps, {id: 'ci-1', byCreateId: true})
    expect(rotated.project.id).toBe(created.project.id)
    expect(rotated.project.api_key).not.toBe(created.project.api_key)

    const teams = () => teamsOf('ci@example.com').length
    const before = teams()
    await expect(showProjectFlow(h.deps, {id: 'ci-2', byCreateId: true})).rejects.toMatchObject({exit: 2, code: 'project_not_found', message: expect.stringMatching(/No project was created with --id ci-2.*Nothing was changed/)})
    expect(teams()).toBe(before) // the project the lookup made was removed again

    const removed = await removeProjectFlow(h.deps, {id: 'ci-1', byCreateId: true, yes: true})
    valid(schemas.remove, removed)
    expect(removed).toMatchObject({removed: true, id: created.project.id})
    await expect(removeProjectFlow(h.deps, {id: 'ci-1', byCreateId: true, yes: true})).rejects.toMatchObject({exit: 2, code: 'project_not_found'})
    expect(teams()).toBe(before - 1)
  })
})
