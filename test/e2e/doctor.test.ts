import {readFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import path from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {rememberClient} from '../../src/oauth/registration.js'
import {resolvePaths} from '../../src/paths.js'
import {runCli} from '../support/cli.js'
import {freeLoopbackPort} from '../support/free-port.js'
import {servedMockForFile, WIZARD_CLIENT_ID} from '../support/mock-process.js'
import {expectSchema} from '../support/schemas.js'

interface DoctorJson {
  checks: Array<{id: string; status: 'ok' | 'warn' | 'fail'; summary: string; fix: string | null}>
  ok: boolean
}

const served = servedMockForFile()
const onramp = served.run
let held: Server | undefined
afterEach(async () => {
  if (held) await new Promise<void>((resolve) => held!.close(() => resolve()))
  held = undefined
})

const parse = (stdout: string) => expectSchema<DoctorJson>('doctor', JSON.parse(stdout))

const check = (json: DoctorJson, id: string) => json.checks.find((item) => item.id === id)

describe('onramp doctor (built binary against the served mock)', () => {
  it('a healthy setup with a live session: exit 0, every check ok or warn, valid --json, no token anywhere', async () => {
    const login = await onramp(['login', '--json'])
    expect(login.code, login.stderr).toBe(0)
    const result = await onramp(['doctor', '--json'])
    expect(result.code, result.stdout + result.stderr).toBe(0)
    const json = parse(result.stdout)
    expect(json.ok).toBe(true)
    expect(json.checks.filter((item) => item.status === 'fail')).toEqual([])
    expect(check(json, 'server.discovery')?.status).toBe('ok')
    expect(check(json, 'clock.skew')).toMatchObject({status: 'ok', summary: expect.stringMatching(/matches the server's/)})
    expect(check(json, 'scopes.signup')?.status).toBe('ok')
    expect(check(json, `sessions.${served.mock.issuer}#${WIZARD_CLIENT_ID}#dev@example.com`)).toMatchObject({status: 'ok', fix: null})
    const credentials = readFileSync(path.join(resolvePaths(served.home.env).config, 'credentials.json'), 'utf8')
    const {access_token, refresh_token} = Object.values(JSON.parse(credentials).sessions as Record<string, {access_token: string; refresh_token: string}>)[0]!
    expect(result.stdout + result.stderr).not.toContain(access_token)
    expect(result.stdout + result.stderr).not.toContain(refresh_token)

    const human = await onramp(['doctor'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/^ok\s+runtime\.node\s+Node \d+\.\d+\.\d+ satisfies >=/m)
  })

  it('a held port of a remembered registered client: login.ports warns with lsof, exit stays 0', async () => {
    held = createServer()
    await new Promise<void>((resolve) => held!.listen(0, '127.0.0.1', resolve))
    const port = (held.address() as {port: number}).port
    await rememberClient(resolvePaths(served.home.env).config, {issuer: served.mock.issuer, client_id: 'dcr-e2e', redirect_uri: `http://127.0.0.1:${port}/callback`, registered_at: new Date().toISOString()})
    const result = await onramp(['doctor', '--json'], {ONRAMP_CLIENT_ID: ''})
    expect(result.code, result.stdout + result.stderr).toBe(0)
    const json = parse(result.stdout)
    expect(check(json, 'login.ports')).toMatchObject({status: 'warn', summary: expect.stringContaining(`${port} (127.0.0.1)`), fix: expect.stringContaining(`lsof -i :${port}`)})
  })

  it('a narrowed ceiling: scopes.signup fails with the admins fix, exit 4', async () => {
    await served.mock.control('apps', {client_id: WIZARD_CLIENT_ID, scopes: ['user:read', 'project:read', 'query:read', 'insight:write', 'event_definition:write', 'llm_gateway:read']})
    const result = await onramp(['doctor', '--json'])
    expect(result.code).toBe(4)
    expect(check(parse(result.stdout), 'scopes.signup')).toMatchObject({status: 'fail', fix: "ask the server's admins to add dashboard:write to the app's allowed scopes"})
  })

  it('an unreachable proxy: server.proxy fails, exit 6', async () => {
    const port = await freeLoopbackPort() // nothing listens there: the proxy is unreachable
    const result = await onramp(['doctor', '--json'], {HTTP_PROXY: `http://127.0.0.1:${port}`})
    expect(result.code).toBe(6)
    expect(check(parse(result.stdout), 'server.proxy')).toMatchObject({status: 'fail', summary: expect.stringMatching(/HTTP_PROXY .* unreachable \(ECONNREFUSED\)/), fix: expect.stringMatching(/unset HTTP_PROXY/)})
  })

  it('a loose credentials file: fails with chmod 600, exit 7', async () => {
    const login = await onramp(['login', '--json'])
    expect(login.code, login.stderr).toBe(0)
    const file = path.join(resolvePaths(served.home.env).config, 'credentials.json')
    const {chmodSync} = await import('node:fs')
    chmodSync(file, 0o644)
    const result = await onramp(['doctor', '--json'])
    expect(result.code).toBe(7)
    expect(check(parse(result.stdout), 'storage.permissions.credentials')).toMatchObject({status: 'fail', fix: `chmod 600 ${file}`})
  })
})

describe('onramp doctor without --host: the server is chosen as token and status choose it', () => {
  it('the only stored session is on another server than the default region: doctor checks that server, its app and its session', async () => {
    const login = await onramp(['login', '--json'])
    expect(login.code, login.stderr).toBe(0)
    // No --host, no ONRAMP_HOST, no --client-id, no ONRAMP_CLIENT_ID: only the stored session names the server.
    const bare = {...served.home.env}
    const status = await runCli(['status', '--json'], {env: bare})
    expect(JSON.parse(status.stdout)).toMatchObject({selection: {issuer: served.mock.issuer}})
    const result = await runCli(['doctor', '--json'], {env: bare})
    const json = parse(result.stdout)
    expect(check(json, 'server.discovery')).toMatchObject({status: 'ok', summary: expect.stringContaining(`${served.mock.issuer} answered its metadata`)})
    expect(check(json, 'server.connect')?.summary).toContain(new URL(served.mock.issuer).host)
    // The session's app: the ceiling the mock gives the wizard app, read with the session's client id.
    // With no client id named, the session's app is the one checked (its ceiling read, the check confirmed).
    expect(check(json, 'scopes.login'), JSON.stringify(check(json, 'scopes.login'))).toMatchObject({status: 'ok'})
    const scopes = await runCli(['scopes', '--check', '--json'], {env: bare})
    expect(JSON.parse(scopes.stdout)).toMatchObject({issuer: served.mock.issuer, client_id: WIZARD_CLIENT_ID, ceiling_source: 'app', confirmed: true})
    expect(check(json, `sessions.${served.mock.issuer}#${WIZARD_CLIENT_ID}#dev@example.com`)).toMatchObject({status: 'ok', fix: null})
    expect(json.checks.map((item) => item.summary).join('\n')).not.toMatch(/us\.posthog\.com|no stored session/)
    expect(result.code, result.stdout + result.stderr).toBe(0)
  })

  it('a credentials file open to others: doctor still checks the server and app of the session in it, and reports the mode', async () => {
    const login = await onramp(['login', '--json'])
    expect(login.code, login.stderr).toBe(0)
    const file = path.join(resolvePaths(served.home.env).config, 'credentials.json')
    const {chmodSync} = await import('node:fs')
    chmodSync(file, 0o644)
    const result = await runCli(['doctor', '--json'], {env: {...served.home.env}})
    const json = parse(result.stdout)
    expect(check(json, 'storage.permissions.credentials')).toMatchObject({status: 'fail', fix: `chmod 600 ${file}`})
    expect(check(json, 'server.discovery')).toMatchObject({status: 'ok', summary: expect.stringContaining(served.mock.issuer)})
    expect(check(json, 'scopes.login')).toMatchObject({status: 'ok'})
    expect(result.code).toBe(7)
  })

  it('the only stored session is a signup session on another server: doctor checks that server and that session', async () => {
    const signup = await onramp(['signup', '--email', 'ci@example.com', '--non-interactive', '--json'])
    expect(signup.code, signup.stderr).toBe(0)
    const result = await runCli(['doctor', '--json'], {env: {...served.home.env}})
    const json = parse(result.stdout)
    expect(check(json, 'server.discovery')).toMatchObject({status: 'ok', summary: expect.stringContaining(served.mock.issuer)})
    expect(check(json, `sessions.${served.mock.issuer}#${WIZARD_CLIENT_ID}#ci@example.com#signup`)).toMatchObject({status: 'ok', fix: null})
    expect(result.code, result.stdout + result.stderr).toBe(0)
  })
})
