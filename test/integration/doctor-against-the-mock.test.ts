import {readFileSync} from 'node:fs'

import {http, HttpResponse} from 'msw'
import {describe, expect, it} from 'vitest'

import {runDoctor, doctorExitCode} from '../../src/doctor/run.js'
import {login} from '../../src/flows/login.js'
import {DEFAULT_USER_EMAIL} from '../mock-server/index.js'
import {FREE_PORT_ISSUER, FREE_PORT_SERVER, harnessPerTest, loginDefaults, storedSessions, WIZARD_CLIENT_ID} from '../support/harness.js'
import {findCheck} from '../support/doctor.js'

const ENGINES = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {engines: {node: string}}).engines.node

const {start} = harnessPerTest()
// Doctor on a built-in region probes the wizard app's fixed ports; these tests are about everything else.
const setup = () => start({issuer: FREE_PORT_ISSUER})
const loginOptions = {...loginDefaults, ...FREE_PORT_SERVER}

const sessionId = `sessions.${FREE_PORT_ISSUER}#${WIZARD_CLIENT_ID}#${DEFAULT_USER_EMAIL}`

describe('onramp doctor against the in-process mock', () => {
  it('a healthy machine with a live session: nothing fails, exit 0, the session is accepted by the server', async () => {
    const h = await setup()
    await login(h.deps, loginOptions)
    const report = await runDoctor(h.deps, {selection: FREE_PORT_SERVER, engines: ENGINES})
    expect(report.ok, JSON.stringify(report.checks, null, 2)).toBe(true)
    expect(doctorExitCode(report)).toBe(0)
    expect(findCheck(report, 'runtime.node')).toMatchObject({status: 'ok', fix: null})
    expect(findCheck(report, 'server.proxy').summary).toMatch(/direct connection/)
    expect(findCheck(report, 'server.discovery')).toMatchObject({status: 'ok', summary: expect.stringMatching(/answered its metadata in \d+ ms/)})
    expect(findCheck(report, 'scopes.login').status).toBe('ok')
    expect(findCheck(report, 'scopes.signup').status).toBe('ok')
    expect(findCheck(report, 'storage.backend').summary).toMatch(/ONRAMP_STORAGE=file: sessions in file/)
    expect(findCheck(report, 'storage.permissions').status).toBe('ok')
    expect(findCheck(report, sessionId)).toMatchObject({status: 'ok', summary: expect.stringMatching(/accepted by the server \(\/api\/users\/@me\/\)/)})
    // the order is the documented one
    const prefixes = [...new Set(report.checks.map((check) => check.id.split('.')[0]))]
    expect(prefixes).toEqual(['runtime', 'server', 'clock', 'scopes', 'storage', 'sessions', 'login'])
    // no token in any result
    const stored = (await storedSessions(h.deps))[0]!
    const text = JSON.stringify(report)
    expect(text).not.toContain(stored.access_token)
    expect(text).not.toContain(stored.refresh_token!)
  })

  it('measures the server for real: the discovery cache does not hide an outage', async () => {
    const h = await setup()
    await runDoctor(h.deps, {selection: FREE_PORT_SERVER}) // warms the cache through the scopes check
    const before = Object.entries(h.mock.control.snapshot().counters.requests).filter(([key]) => key.includes('/.well-known/')).reduce((sum, [, count]) => sum + count, 0)
    await runDoctor(h.deps, {selection: FREE_PORT_SERVER})
    const after = Object.entries(h.mock.control.snapshot().counters.requests).filter(([key]) => key.includes('/.well-known/')).reduce((sum, [, count]) => sum + count, 0)
    expect(after).toBeGreaterThan(before)
  })

  it('a narrowed app ceiling: scopes.signup fails naming the scope and who can fix it, exit 4', async () => {
    const h = await setup()
    h.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: ['user:read', 'project:read', 'query:read', 'insight:write', 'event_definition:write', 'llm_gateway:read']})
    const report = await runDoctor(h.deps, {selection: FREE_PORT_SERVER})
    const signup = findCheck(report, 'scopes.signup')
    expect(signup.status).toBe('fail')
    expect(signup.summary).toMatch(/outside the app's ceiling: dashboard:write/)
    expect(signup.fix).toBe("ask the server's admins to add dashboard:write to the app's allowed scopes")
    expect(report.ok).toBe(false)
    expect(doctorExitCode(report)).toBe(4)
  })

  it('a session the server no longer accepts: fail with "onramp login", exit 5', async () => {
    const h = await setup()
    await login(h.deps, loginOptions)
    expect(h.mock.control.expireTokens()).toBeGreaterThan(0)
    const report = await runDoctor(h.deps, {selection: FREE_PORT_SERVER})
    expect(findCheck(report, sessionId)).toMatchObject({status: 'fail', fix: `onramp login --host ${FREE_PORT_ISSUER}`, summary: expect.stringMatching(/no longer accepts this session \(HTTP 401/)})
    expect(doctorExitCode(report)).toBe(5)
    expect(h.mock.control.snapshot().counters.grants.refresh_token ?? 0).toBe(0) // never refreshed without --refresh
  })

  it('--refresh spends the refresh token once and verifies the new access token', async () => {
    const h = await setup()
    await login(h.deps, loginOptions)
    const before = (await storedSessions(h.deps))[0]!
    h.mock.control.expireTokens()
    const report = await runDoctor(h.deps, {selection: FREE_PORT_SERVER, refresh: true})
    expect(findCheck(report, sessionId)).toMatchObject({status: 'ok', summary: expect.stringMatching(/accepted by the server .*refreshed/)})
    expect(h.mock.control.snapshot().counters.grants.refresh_token).toBe(1)
    const after = (await storedSessions(h.deps))[0]!
    expect(after.refresh_token).not.toBe(before.refresh_token) // the rotated token was stored
    expect(JSON.stringify(report)).not.toContain(after.access_token)
  })

  it('an expired access token is not called "rejected" without --refresh: warn, and says how to check', async () => {
    const h = await setup()
    await login(h.deps, loginOptions)
    h.advance(3 * 3600)
    const report = await runDoctor(h.deps, {selection: FREE_PORT_SERVER})
    expect(findCheck(report, sessionId)).toMatchObject({status: 'warn', fix: expect.stringMatching(/onramp doctor --refresh/)})
  })

  it('no stored session: warn with the login command', async () => {
    const h = await setup()
    const report = await runDoctor(h.deps, {selection: FREE_PORT_SERVER})
    expect(findCheck(report, 'sessions')).toMatchObject({status: 'warn', fix: `onramp login --host ${FREE_PORT_ISSUER}`, summary: `no stored session for ${FREE_PORT_ISSUER}`})
    expect(report.ok).toBe(true)
  })

  it('ONRAMP_TOKEN set: warns that it overrides stored sessions', async () => {
    const h = await setup()
    const deps = {...h.deps, env: {...h.deps.env, ONRAMP_TOKEN: 'pha_notarealtokenbutshaped'}}
    const report = await runDoctor(deps, {selection: FREE_PORT_SERVER})
    expect(findCheck(report, 'storage.env_token')).toMatchObject({status: 'warn', fix: 'unset ONRAMP_TOKEN', summary: expect.stringMatching(/overrides stored sessions/)})
    expect(JSON.stringify(report)).not.toContain('notarealtokenbutshaped')
    expect(findCheck(report, 'sessions.env')).toMatchObject({status: 'fail', summary: expect.stringMatching(/does not accept ONRAMP_TOKEN \(HTTP 401/), fix: expect.stringMatching(/unset ONRAMP_TOKEN/)})
    expect(doctorExitCode(report)).toBe(5)
  })

  it('ONRAMP_TOKEN holding a live token: the server accepts it', async () => {
    const h = await setup()
    await login(h.deps, loginOptions)
    const {access_token} = (await storedSessions(h.deps))[0]!
    const report = await runDoctor({...h.deps, env: {...h.deps.env, ONRAMP_TOKEN: access_token}}, {selection: FREE_PORT_SERVER})
    expect(findCheck(report, 'sessions.env')).toMatchObject({status: 'ok', summary: `${new URL(FREE_PORT_ISSUER).host} accepts ONRAMP_TOKEN (/api/users/@me/)`})
    expect(JSON.stringify(report)).not.toContain(access_token)
  })

  it('an old Node: runtime.node fails against engines with the install command, exit 1', async () => {
    const h = await setup()
    const report = await runDoctor(h.deps, {selection: FREE_PORT_SERVER, engines: ENGINES, nodeVersion: '18.19.0'})
    expect(findCheck(report, 'runtime.node')).toMatchObject({status: 'fail', summary: `Node 18.19.0 does not satisfy ${ENGINES}`, fix: expect.stringMatching(/^install Node 20\.18\.1 or later/)})
    expect(doctorExitCode(report)).toBe(1)
  })

  it("the scope check NOT confirmed: an app ceiling the server will not give warns on both surfaces, and says why", async () => {
    const h = await setup()
    h.server.use(http.post(`${FREE_PORT_ISSUER}/api/agentic/provisioning/client_registration`, () => new HttpResponse(null, {status: 404})))
    const report = await runDoctor(h.deps, {selection: FREE_PORT_SERVER, engines: ENGINES})
    for (const surface of ['login', 'signup']) {
      expect(findCheck(report, `scopes.${surface}`)).toMatchObject({
        status: 'warn',
        summary: expect.stringMatching(/the scope check is NOT confirmed: the app's ceiling was not read: the server has no provisioning API \(HTTP 404\)/),
        fix: expect.stringMatching(/did not say what this app may be granted/),
      })
    }
  })

  it('a session whose grant the server would not read back: accepted, but its scope check NOT confirmed (warn, with why)', async () => {
    const h = await setup()
    await login(h.deps, loginOptions)
    const store = await h.deps.sessions()
    const [session] = await storedSessions(h.deps)
    await store.save({...session!, unverified: 'the server refused to read the token back (HTTP 403)'})
    const report = await runDoctor(h.deps, {selection: FREE_PORT_SERVER, engines: ENGINES})
    expect(findCheck(report, sessionId)).toMatchObject({
      status: 'warn',
      summary: expect.stringMatching(/accepted by the server .*; its scope check is NOT confirmed: the server did not confirm the grant \(the server refused to read the token back \(HTTP 403\)\)/),
      fix: expect.stringMatching(/^onramp doctor --refresh/),
    })
  })
})
