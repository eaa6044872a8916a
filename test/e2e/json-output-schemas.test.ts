// Every `--json` document the built binary prints, success and error, validated against schemas/ with
// ajv in strict mode: the schemas are the contract scripts code against, so real output must match them.
// doctor's document is validated by test/e2e/doctor.test.ts.
import {describe, expect, it} from 'vitest'

import {WIZARD_APP_CEILING} from '../mock-server/scope-data.js'
import type {CliResult} from '../support/cli.js'
import {servedMockForFile, WIZARD_CLIENT_ID} from '../support/mock-process.js'
import {documentOf} from '../support/schemas.js'

function errorOf(result: CliResult, exit: number): {code: string; message: string; exit: number; next_command?: string} {
  expect(result.code, result.stderr).toBe(exit)
  const {error} = documentOf(result, 'error') as {error: {code: string; message: string; exit: number; next_command?: string}}
  expect(error.exit).toBe(exit)
  return error
}

const served = servedMockForFile()
const onramp = (args: string[], env: Record<string, string> = {}) => served.run([...args, '--json'], env)

async function loggedIn(): Promise<Record<string, unknown>> {
  const login = await onramp(['login'])
  expect(login.code, login.stderr).toBe(0)
  return documentOf(login, 'login')
}

describe('login --json', () => {
  it('success: the saved session and the optional scopes not granted', async () => {
    const document = await loggedIn()
    expect(document).toMatchObject({session: {issuer: served.mock.issuer, source: 'store', verified: true, kind: 'oauth', storage: {kind: 'file'}}})
  })

  it('exit 4: a required scope the server does not advertise, as an error document', async () => {
    const error = errorOf(await onramp(['login', '--scopes', 'user:read not_a_scope:read']), 4)
    expect(error.code).toBe('invalid_scope')
    expect(error.message).toContain('not_a_scope:read')
  })

  it('a denied consent, as an error document', async () => {
    const result = await onramp(['login'], {FOLLOW_ACTION: 'deny'})
    expect(result.code).not.toBe(0)
    errorOf(result, result.code!)
  })

  it('exit 2: an oclif usage error (a flag that does not exist)', async () => {
    expect(errorOf(await onramp(['login', '--bogus']), 2).code).toBe('usage')
  })
})

describe('status --json', () => {
  it('success: the stored sessions', async () => {
    await loggedIn()
    const document = documentOf(await onramp(['status']), 'status')
    expect(document.sessions).toHaveLength(1)
  })

  it('a login with --scopes: status shows what it requested and judges missing scopes against that', async () => {
    const login = await onramp(['login', '--scopes', 'user:read project:read'])
    expect(login.code, login.stderr).toBe(0)
    expect(documentOf(login, 'login')).toMatchObject({session: {requested_scopes: ['user:read', 'project:read'], required_scopes: ['user:read', 'project:read']}})
    const document = documentOf(await onramp(['status']), 'status') as {sessions: Array<Record<string, unknown>>}
    expect(document.sessions[0]).toMatchObject({requested_scopes: ['user:read', 'project:read'], required_scopes: ['user:read', 'project:read'], missing_required_scopes: []})
  })

  it('exit 3: not logged in', async () => {
    expect(errorOf(await onramp(['status']), 3)).toMatchObject({code: 'not_logged_in', next_command: 'onramp login'})
  })

  it('ONRAMP_TOKEN: one unverified session with null for what is unknown', async () => {
    const document = documentOf(await onramp(['status'], {ONRAMP_TOKEN: 'pha_from_the_environment'}), 'status')
    expect(document.sessions).toEqual([expect.objectContaining({source: 'env', verified: false, client_id: null, scopes: null, requested_scopes: null, required_scopes: null, user: null, expires_at: null, state: 'unknown'})])
  })
})

describe('token --json', () => {
  it('success: the token and its session', async () => {
    await loggedIn()
    const document = documentOf(await onramp(['token']), 'token')
    expect(document).toMatchObject({access_token: expect.stringMatching(/^pha_/), session: {issuer: served.mock.issuer}})
  })

  it('success after a refresh (--min-valid longer than the token lives)', async () => {
    await loggedIn()
    const document = documentOf(await onramp(['token', '--min-valid', '86400']), 'token')
    expect(document).toMatchObject({session: {state: 'valid'}})
  })

  it('ONRAMP_TOKEN: printed as-is with an unverified session', async () => {
    const document = documentOf(await onramp(['token'], {ONRAMP_TOKEN: 'pha_from_the_environment'}), 'token')
    expect(document).toMatchObject({access_token: 'pha_from_the_environment', session: {source: 'env', storage: {kind: 'env'}}})
  })

  it('exit 3: not logged in', async () => {
    expect(errorOf(await onramp(['token']), 3).code).toBe('not_logged_in')
  })

  it('exit 5: the server refuses the refresh token (invalid_grant)', async () => {
    await loggedIn()
    await served.mock.control('config', {fail_next: {path: '/oauth/token', status: 400, code: 'invalid_grant', message: 'The refresh token is invalid.'}})
    expect(errorOf(await onramp(['token', '--min-valid', '86400']), 5).next_command).toBe('onramp login')
  })

  it('exit 2: an oclif usage error (token --bogus --json)', async () => {
    expect(errorOf(await onramp(['token', '--bogus']), 2).code).toBe('usage')
  })
})

describe('logout --json', () => {
  it('success: what was logged out and revoked', async () => {
    await loggedIn()
    const document = documentOf(await onramp(['logout']), 'logout')
    expect(document).toEqual({logged_out: [{issuer: served.mock.issuer, client_id: WIZARD_CLIENT_ID, account: 'dev@example.com', kind: 'oauth', revoked: true}]})
  })

  it('exit 0: nothing to log out (a cleanup step may run twice)', async () => {
    const result = await onramp(['logout'])
    expect(result.code).toBe(0)
    expect(documentOf(result, 'logout')).toEqual({logged_out: [], nothing_to_log_out: expect.stringContaining('nothing to log out')})
  })
})

describe('scopes --json', () => {
  it('the description of the scope constant', async () => {
    const result = await onramp(['scopes'])
    expect(result.code).toBe(0)
    const document = documentOf(result, 'scopes')
    expect(document.login).toContain('user:read')
  })

  it('--check, ok', async () => {
    const result = await onramp(['scopes', '--check'])
    expect(result.code, result.stderr).toBe(0)
    expect(documentOf(result, 'scopes-check')).toMatchObject({ok: true, ceiling: WIZARD_APP_CEILING})
  })

  it('--check, exit 4 after the ceiling is narrowed: the report itself, with ok:false', async () => {
    await served.mock.control('apps', {client_id: WIZARD_CLIENT_ID, scopes: ['llm_gateway:read']})
    const result = await onramp(['scopes', '--check'])
    expect(result.code).toBe(4)
    const document = documentOf(result, 'scopes-check')
    expect(document).toMatchObject({ok: false, surfaces: {login: {ok: false, outside_ceiling: expect.arrayContaining(['user:read'])}}})
  })

  it('--check, exit 6: the server cannot be reached, as an error document', async () => {
    // A port nothing listens on: the mock's own, after asking the OS for a fresh one would race; port 9 (discard) is closed on loopback.
    const error = errorOf(await onramp(['scopes', '--check'], {ONRAMP_HOST: 'http://127.0.0.1:9'}), 6)
    expect(error.message).toContain('127.0.0.1:9')
  })
})

describe('help and unknown commands', () => {
  it('help --json lists every command with its flags', async () => {
    const result = await onramp(['help'])
    expect(result.code, result.stderr).toBe(0)
    const {commands} = documentOf(result, 'help') as {commands: {id: string; flags: string[]}[]}
    expect(commands.map((command) => command.id)).toEqual(expect.arrayContaining(['login', 'signup', 'token', 'projects create', 'doctor']))
    expect(commands.find((command) => command.id === 'token')?.flags).toContain('--min-valid')
  })

  it('an unknown command with --json prints an error document naming the closest command (exit 2)', async () => {
    const error = errorOf(await onramp(['tokn']), 2)
    expect(error.code).toBe('command_not_found')
    expect(error.next_command).toBe('onramp token')
  })
})
