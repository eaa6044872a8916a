/**
 * `onramp signup` as a CI job runs it: the built binary against the served mock, no TTY. A new email
 * in --non-interactive --json mode gives a project key and a usable session (onramp token, then the
 * project read with it), with no token on stdout or stderr and the env file written; an existing email
 * is exit 3; a narrowed ceiling exit 4 with no account; an invalid email exit 2; a short-minted token
 * exit 4 with nothing kept.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {beforeEach, describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'
import {servedMockForFile, WIZARD_CLIENT_ID} from '../support/mock-process.js'
import {schemaValidator} from '../support/schemas.js'

const REQUIRED_WITHOUT_DASHBOARD = ['user:read', 'project:read', 'llm_gateway:read', 'insight:write', 'query:read', 'event_definition:write']

interface MockState {
  counters: {provisioning: {account_requests: number; accounts_created: number}}
  tokens: {access: number; refresh: number}
}

const served = servedMockForFile({browser: false})
beforeEach(async () => {
  await served.mock.control('reset', {})
})
const env = () => served.env()
const state = () => served.mock.control<MockState>('state')
const credentials = () => {
  try {
    return readFileSync(path.join(served.home.env.XDG_CONFIG_HOME!, 'onramp', 'credentials.json'), 'utf8')
  } catch {
    return ''
  }
}

describe('onramp signup, built binary, no TTY', () => {
  it('new email, --non-interactive --json: project key, a usable session, no token printed, the env file', async () => {
    const envFile = path.join(served.home.home, 'github_env')
    const run = await runCli(['signup', '--email', 'ci@example.com', '--non-interactive', '--json', '--output-env', envFile], {env: env()})
    expect(run.code, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout) as {account: {id: string}; project: {id: string; api_key: string; host: string; personal_api_key: string}; session: {kind: string; storage: {kind: string}}; env_file: unknown}
    const validate = schemaValidator('signup')
    expect(validate(result), JSON.stringify(validate.errors)).toBe(true)
    expect(result.project.api_key).toMatch(/^phc_[A-Za-z0-9]{8,}/)
    expect(result.session).toMatchObject({kind: 'provisioning', storage: {kind: 'file'}})
    expect(result.env_file).toEqual({path: envFile, variables: ['POSTHOG_PROJECT_API_KEY', 'POSTHOG_PROJECT_ID', 'POSTHOG_HOST', 'POSTHOG_PERSONAL_API_KEY']})
    expect(readFileSync(envFile, 'utf8')).toBe(
      `POSTHOG_PROJECT_API_KEY=${result.project.api_key}\nPOSTHOG_PROJECT_ID=${result.project.id}\nPOSTHOG_HOST=${result.project.host}\nPOSTHOG_PERSONAL_API_KEY=${result.project.personal_api_key}\n`,
    )

    const stored = JSON.parse(credentials()) as {sessions: Record<string, {access_token: string; refresh_token: string}>}
    const [session] = Object.values(stored.sessions)
    for (const secret of [session!.access_token, session!.refresh_token]) {
      expect(run.stdout).not.toContain(secret)
      expect(run.stderr).not.toContain(secret)
    }
    expect(run.stdout + run.stderr).not.toMatch(/ph[ar]_[A-Za-z0-9]{8,}/)

    const token = await runCli(['token'], {env: env()})
    expect(token.code, token.stderr).toBe(0)
    const accessToken = token.stdout.trim()
    const project = await fetch(`${served.mock.issuer}/api/agentic/provisioning/resources/${result.project.id}`, {headers: {authorization: `Bearer ${accessToken}`}})
    expect(project.status).toBe(200)
    const body = (await project.json()) as {complete: {access_configuration: {api_key: string}}}
    expect(body.complete.access_configuration.api_key).toBe(result.project.api_key)
  }, 60_000)

  it('the human output shows the key and where the project lives, and says to verify the email', async () => {
    const run = await runCli(['signup', '--email', 'person@example.com', '--no-store'], {env: env()})
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/API key: {2}phc_[A-Za-z0-9]{8,}/)
    expect(run.stdout).toMatch(/Verify your email/)
    expect(run.stdout).toContain('not stored (--no-store)')
    expect(credentials()).toBe('')
  }, 60_000)

  it('an existing email without a browser: exit 3, next_command onramp login', async () => {
    await served.mock.control('users', {email: 'taken@example.com'})
    const run = await runCli(['signup', '--email', 'taken@example.com', '--json'], {env: env()})
    expect(run.code, run.stderr).toBe(3)
    expect(JSON.parse(run.stdout)).toMatchObject({error: {exit: 3, code: 'account_exists', next_command: 'onramp login'}})
    expect(credentials()).toBe('')
  }, 60_000)

  it('a narrowed ceiling: exit 4 and no account requested', async () => {
    await served.mock.control('apps', {client_id: WIZARD_CLIENT_ID, scopes: REQUIRED_WITHOUT_DASHBOARD})
    const run = await runCli(['signup', '--email', 'narrow@example.com', '--json'], {env: env()})
    expect(run.code, run.stderr).toBe(4)
    expect(JSON.parse(run.stdout).error.message).toContain('dashboard:write')
    const {counters} = await state()
    expect(counters.provisioning.account_requests).toBe(0)
    expect(counters.provisioning.accounts_created).toBe(0)
  }, 60_000)

  it('an invalid email: exit 2 before any request', async () => {
    const run = await runCli(['signup', '--email', 'not-an-email', '--json'], {env: env()})
    expect(run.code, run.stderr).toBe(2)
    expect(JSON.parse(run.stdout)).toMatchObject({error: {exit: 2, code: 'invalid_email'}})
    expect((await state()).counters.provisioning.account_requests).toBe(0)
  }, 60_000)

  it('no --email without a TTY: exit 2, never a prompt', async () => {
    const run = await runCli(['signup', '--json'], {env: env()})
    expect(run.code, run.stderr).toBe(2)
    expect(JSON.parse(run.stdout)).toMatchObject({error: {code: 'email_required'}})
  }, 60_000)

  it('a token minted with fewer scopes than requested: exit 4, nothing stored', async () => {
    await served.mock.control('config', {mint_scopes_drop: ['dashboard:write']})
    const run = await runCli(['signup', '--email', 'short@example.com', '--json'], {env: env()})
    expect(run.code, run.stderr).toBe(4)
    expect(JSON.parse(run.stdout).error.message).toMatch(/dashboard:write \(signup, required\)/)
    expect(credentials()).toBe('')
  }, 60_000)
})
