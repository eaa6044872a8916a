/**
 * The built binary against the served mock, as a CI job runs it (no TTY): create -> create again ->
 * show -> rotate-key -> remove, twice with the same --id (remove frees the id, so the second cycle makes
 * a new project), the env file, and a remove without --yes refused. The provisioning session is written
 * to the credentials file directly, with tokens from the mock's provisioning API over HTTP.
 */
import {createHash, randomBytes} from 'node:crypto'
import {chmodSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import type {CliResult} from '../support/cli.js'
import {servedMockForFile, WIZARD_CLIENT_ID} from '../support/mock-process.js'
import {documentOf} from '../support/schemas.js'

const SCOPES = ['user:read', 'project:read']

const served = servedMockForFile({browser: false})
const onramp = (args: string[]) => served.run(args)

/** Signup's protocol steps over HTTP (account request for a new email, code exchange), stored as signup stores them. */
async function writeProvisioningSession(email: string): Promise<void> {
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const account = await fetch(`${served.mock.issuer}/api/agentic/provisioning/account_requests`, {
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify({client_id: WIZARD_CLIENT_ID, email, scopes: SCOPES, code_challenge: challenge, code_challenge_method: 'S256'}),
  })
  const {oauth} = (await account.json()) as {oauth: {code: string}}
  const token = await fetch(`${served.mock.issuer}/api/agentic/oauth/token`, {
    method: 'POST',
    headers: {'content-type': 'application/x-www-form-urlencoded'},
    body: new URLSearchParams({grant_type: 'authorization_code', code: oauth.code, code_verifier: verifier}).toString(),
  })
  const tokens = (await token.json()) as {access_token: string; refresh_token: string; expires_in: number}
  const now = new Date()
  const session = {
    issuer: served.mock.issuer,
    client_id: WIZARD_CLIENT_ID,
    region: null,
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    expires_at: new Date(now.getTime() + tokens.expires_in * 1000).toISOString(),
    scope: SCOPES,
    user: {email},
    obtained_at: now.toISOString(),
    kind: 'provisioning',
  }
  const folder = path.join(served.home.env.XDG_CONFIG_HOME!, 'onramp')
  mkdirSync(folder, {recursive: true, mode: 0o700})
  chmodSync(folder, 0o700)
  writeFileSync(path.join(folder, 'credentials.json'), JSON.stringify({version: 1, sessions: {[`${served.mock.issuer}#${WIZARD_CLIENT_ID}`]: session}}), {mode: 0o600})
}

interface MockState {
  users: {email: string; teams: {id: number; api_key: string}[]}[]
}
const teamsOf = async (email: string) => (await served.mock.control<MockState>('state')).users.find((user) => user.email === email)?.teams ?? []

interface Document {
  created?: boolean | null
  removed?: boolean
  id?: string
  project: {id: string; api_key: string; host: string; personal_api_key: string | null}
  session: Record<string, unknown>
}

/** A successful --json run, checked against its schema. */
function parsed(result: CliResult, schema: 'projects-create' | 'projects-show' | 'projects-rotate-key' | 'projects-remove'): Document {
  expect(result.code, result.stderr).toBe(0)
  return documentOf<Document>(result, schema)
}

describe('onramp projects, built, against the served mock, without a terminal', () => {
  it('create -> create again -> show -> rotate-key -> remove --yes, twice with the same --id', async () => {
    const email = `ci-${randomBytes(4).toString('hex')}@example.com`
    await writeProvisioningSession(email)
    const envFile = path.join(served.home.home, 'github_env')
    const seen: string[] = []

    for (const cycle of [1, 2]) {
      const created = parsed(await onramp(['projects', 'create', '--id', 'run-42', '--name', `Run 42 (${cycle})`, '--output-env', envFile, '--json']), 'projects-create')
      expect(created.created).toBe(true)
      expect(created.session).toMatchObject({kind: 'provisioning', source: 'store'})
      const id = created.project.id
      expect(seen).not.toContain(id) // the second cycle is a new project: remove freed the --id
      seen.push(id)
      expect(readFileSync(envFile, 'utf8')).toContain(`POSTHOG_PROJECT_API_KEY=${created.project.api_key}\nPOSTHOG_PROJECT_ID=${id}\nPOSTHOG_HOST=${served.mock.issuer}\n`)

      const again = await onramp(['projects', 'create', '--id', 'run-42'])
      expect(again.code, again.stderr).toBe(0)
      expect(again.stdout).toContain(`Project ${id} already existed for --id run-42`)
      expect(again.stdout).toContain(created.project.api_key)

      const shown = parsed(await onramp(['projects', 'show', id, '--json']), 'projects-show')
      // A read never carries a personal API key (views/resources.py); create did (the wizard app issues them).
      expect(created.project.personal_api_key).toMatch(/^phx_/)
      expect(shown.project).toEqual({...created.project, personal_api_key: null})

      const rotated = parsed(await onramp(['projects', 'rotate-key', id, '--json']), 'projects-rotate-key')
      expect(rotated.project.id).toBe(id)
      expect(rotated.project.api_key).not.toBe(created.project.api_key)
      const keys = (await teamsOf(email)).map((team) => team.api_key)
      expect(keys).toContain(rotated.project.api_key)
      expect(keys).not.toContain(created.project.api_key) // the old key no longer works

      const removed = parsed(await onramp(['projects', 'remove', id, '--yes', '--json']), 'projects-remove')
      expect(removed).toMatchObject({removed: true, id})
      expect((await teamsOf(email)).map((team) => String(team.id))).not.toContain(id)
    }
  }, 120_000) // ten CLI runs in a row on a loaded 2-core machine

  it('remove without --yes and without a terminal: exit 2 naming --yes, the project still there', async () => {
    const email = `ci-${randomBytes(4).toString('hex')}@example.com`
    await writeProvisioningSession(email)
    const created = parsed(await onramp(['projects', 'create', '--id', 'keep-me', '--json']), 'projects-create')
    const id = created.project.id

    const refused = await onramp(['projects', 'remove', id])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/pass --yes/)
    expect(refused.stdout).toBe('')
    const refusedJson = await onramp(['projects', 'remove', id, '--json'])
    expect(refusedJson.code).toBe(2)
    expect(JSON.parse(refusedJson.stdout)).toMatchObject({error: {code: 'confirmation_required', exit: 2}})

    expect((await teamsOf(email)).map((team) => String(team.id))).toContain(id)
    expect((await onramp(['projects', 'show', id])).code).toBe(0)
  })

  it('an --id linked to another organization: exit 2 with the explanation', async () => {
    await writeProvisioningSession(`a-${randomBytes(4).toString('hex')}@example.com`)
    expect((await onramp(['projects', 'create', '--id', 'taken'])).code).toBe(0)
    await writeProvisioningSession(`b-${randomBytes(4).toString('hex')}@example.com`)
    const conflict = await onramp(['projects', 'create', '--id', 'taken', '--json'])
    expect(conflict.code).toBe(2)
    expect(JSON.parse(conflict.stdout)).toMatchObject({error: {code: 'project_id_conflict', exit: 2, message: expect.stringContaining('another organization')}})
  })
})
