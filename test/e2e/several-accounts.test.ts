/**
 * Several accounts on one server, chosen per folder (issue 20 items 1-3), with the built binary against
 * the served mock: two signups are both kept, status marks what each command uses, two commands in two
 * folders with their own .onramp.json use two accounts at the same time, flags and ONRAMP_ACCOUNT win
 * over the file, `switch` sets the default, logout of one account keeps the other.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {runCli, type CliResult} from '../support/cli.js'
import {servedMockForFile, WIZARD_CLIENT_ID} from '../support/mock-process.js'
import {documentOf as validDocument} from '../support/schemas.js'

/** A document the schema has just validated: read freely in the assertions below. */
type Validated = ReturnType<typeof JSON.parse>
const documentOf = (result: CliResult, schema: string) => validDocument<Validated>(result, schema)

// One home for the file: the tests share the two signups and build on each other's switches.
const served = servedMockForFile({homePer: 'file'})
const server = () => ['--host', served.mock.issuer, '--client-id', WIZARD_CLIENT_ID]
const run = (args: string[], options: {cwd?: string; env?: Record<string, string>} = {}) => runCli(args, {env: {...served.home.env, ...options.env}, ...(options.cwd ? {cwd: options.cwd} : {})})

beforeAll(async () => {
  for (const email of ['newbie@example.com', 'ci@example.com']) {
    const signup = await run(['signup', '--email', email, '--non-interactive', ...server()])
    expect(signup.code, signup.stderr).toBe(0)
  }
}, 60_000)

describe('two accounts on one server (built binary)', () => {
  it('both signups are kept; the first is the default; status marks the session each command uses', async () => {
    const status = documentOf(await run(['status', '--json']), 'status')
    expect(status.sessions.map((session: {account: string}) => session.account)).toEqual(['newbie@example.com', 'ci@example.com'])
    expect(status.selection).toMatchObject({issuer: served.mock.issuer, account: 'newbie@example.com', account_from: expect.stringContaining('defaults.json'), used_by: {token: 0, projects: 0}})
    const human = await run(['status'])
    expect(human.stdout).toMatch(/127\.0\.0\.1:\d+ {2}<- used by token, whoami, doctor, logout, projects\n {2}Logged in as newbie@example\.com/)
    expect(human.stdout).toMatch(/access token expires \S+ \(in (59|60) min|in 1 h\)/)
    expect(human.stdout).toMatch(/Account: {2}newbie@example\.com \(chosen by the default account/)
  })

  it('--account and ONRAMP_ACCOUNT choose the other one', async () => {
    expect(documentOf(await run(['token', '--json', '--account', 'ci@example.com']), 'token').session.account).toBe('ci@example.com')
    expect(documentOf(await run(['token', '--json'], {env: {ONRAMP_ACCOUNT: 'CI@example.com'}}), 'token').session.account).toBe('ci@example.com')
    const missing = await run(['token', '--json', '--account', 'nobody@example.com'])
    expect(missing.code).toBe(3)
    expect(documentOf(missing, 'error').error.message).toMatch(/No session for nobody@example\.com .*chosen by --account/)
  })

  it('two folders with their own .onramp.json use two accounts at the same time; flags and variables win over the file', async () => {
    const a = path.join(served.home.home, 'work', 'app')
    const b = path.join(served.home.home, 'work', 'ci', 'deep', 'er')
    mkdirSync(a, {recursive: true})
    mkdirSync(b, {recursive: true})
    writeFileSync(path.join(a, '.onramp.json'), JSON.stringify({host: served.mock.issuer, account: 'newbie@example.com'}))
    const ciFile = path.join(served.home.home, 'work', 'ci', '.onramp.json')
    writeFileSync(ciFile, JSON.stringify({host: served.mock.issuer, client_id: WIZARD_CLIENT_ID, account: 'ci@example.com'}))
    const rounds = await Promise.all([0, 1, 2].flatMap(() => [run(['token', '--json'], {cwd: a}), run(['token', '--json'], {cwd: b})]))
    expect(rounds.map((result) => documentOf(result, 'token').session.account)).toEqual(['newbie@example.com', 'ci@example.com', 'newbie@example.com', 'ci@example.com', 'newbie@example.com', 'ci@example.com'])
    const whoami = documentOf(await run(['whoami', '--json'], {cwd: b}), 'whoami')
    expect(whoami.selection).toMatchObject({account: 'ci@example.com', account_from: ciFile, server_from: ciFile, file: ciFile})
    expect(whoami.token.account).toBe('ci@example.com')
    expect((await run(['whoami'], {cwd: b})).stdout).toMatch(/^ci@example\.com\n[\s\S]*File: {5}.*\.onramp\.json/)
    expect(documentOf(await run(['token', '--json', '--account', 'newbie@example.com'], {cwd: b}), 'token').session.account).toBe('newbie@example.com')
    expect(documentOf(await run(['token', '--json'], {cwd: b, env: {ONRAMP_ACCOUNT: 'newbie@example.com'}}), 'token').session.account).toBe('newbie@example.com')
    // --verbose says which file chose.
    expect((await run(['token', '--verbose'], {cwd: b})).stderr).toContain(ciFile)
  })

  it('a .onramp.json with an unknown key is refused, naming its path (exit 2)', async () => {
    const dir = path.join(served.home.home, 'bad')
    mkdirSync(dir, {recursive: true})
    const file = path.join(dir, '.onramp.json')
    writeFileSync(file, JSON.stringify({account: 'ci@example.com', refresh_token: 'x'}))
    const result = await run(['status', '--json'], {cwd: dir})
    expect(result.code).toBe(2)
    expect(documentOf(result, 'error').error.message).toContain(`${file}: unknown key "refresh_token"`)
  })

  it('switch sets the default (kept in the config folder); logout of one account keeps the other; a second logout exits 0', async () => {
    const switched = documentOf(await run(['switch', '--account', 'ci@example.com', '--json']), 'switch')
    expect(switched).toMatchObject({issuer: served.mock.issuer, account: 'ci@example.com', previous: 'newbie@example.com', overridden_by: null})
    expect(documentOf(await run(['token', '--json']), 'token').session.account).toBe('ci@example.com')
    const out = documentOf(await run(['logout', '--account', 'ci@example.com', '--json']), 'logout')
    expect(out.logged_out).toEqual([expect.objectContaining({account: 'ci@example.com', kind: 'provisioning'})])
    const again = await run(['logout', '--account', 'ci@example.com', '--json'])
    expect(again.code).toBe(0)
    expect(documentOf(again, 'logout')).toMatchObject({logged_out: [], nothing_to_log_out: expect.stringContaining('nothing to log out')})
    const status = documentOf(await run(['status', '--json']), 'status')
    expect(status.sessions.map((session: {account: string}) => session.account)).toEqual(['newbie@example.com'])
    expect(status.selection.account).toBe('newbie@example.com')
  })
})
