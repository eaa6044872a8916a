/**
 * `onramp signup` for an email with no account, in-process against the MSW mock: the account, the
 * project with its key, the stored provisioning session, --no-store, --output-env, the --json shape.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {signup, type SignupOptions} from '../../src/flows/signup.js'
import {redact} from '../../src/redact.js'
import {renderSignup} from '../../src/render/signup.js'
import {SIGNUP_SCOPES} from '../../src/scopes/constant.js'
import {schemaValidator} from '../support/schemas.js'
import {harnessPerTest, storedSessions, US_ISSUER, WIZARD_CLIENT_ID} from '../support/harness.js'

const {start: setup} = harnessPerTest()

const options = (extra: Partial<SignupOptions> = {}): SignupOptions => ({email: 'new@example.com', name: 'New Person', store: true, timeoutSeconds: 10, ...extra})


describe('signup with a new email', () => {
  it('creates the account and project, stores a provisioning session with the granted scopes', async () => {
    const h = await setup()
    const {result, newAccount} = await signup(h.deps, options())
    expect(newAccount).toBe(true)
    expect(result.project.api_key).toMatch(/^phc_/)
    expect(result.project.id).toMatch(/^\d+$/)
    expect(result.project.host).toBeTruthy()
    expect(result.session).toMatchObject({issuer: US_ISSUER, client_id: WIZARD_CLIENT_ID, kind: 'provisioning', source: 'store', storage: {kind: 'file'}, missing_required_scopes: []})
    expect([...result.session!.scopes!].sort()).toEqual([...SIGNUP_SCOPES].sort())
    expect(result.session!.user?.email).toBe('new@example.com')

    const stored = await storedSessions(h.deps)
    expect(stored).toHaveLength(1)
    expect(stored[0]).toMatchObject({kind: 'provisioning', client_id: WIZARD_CLIENT_ID})
    // The lifetime the server gave (3600 s for partner apps), not a guess.
    expect(Date.parse(stored[0]!.expires_at!) - Date.parse(stored[0]!.obtained_at)).toBe(3600 * 1000)

    const counters = h.mock.control.snapshot().counters.provisioning
    expect(counters.accounts_created).toBe(1)
    expect(counters.token_requests.authorization_code).toBe(1)
    expect(h.mock.control.snapshot().counters.revocations).toBe(0)
    // Without a project_id the server hands back the signup project (server.md 4.2): nothing new is created.
    expect(h.mock.control.snapshot().counters.requests['POST /api/agentic/provisioning/resources']).toBe(1)
    expect(h.mock.control.snapshot().users.find((user) => user.email === 'new@example.com')?.teams.map((team) => String(team.id))).toEqual([result.project.id])
  })

  it('sends the signup scopes with PKCE S256, never an empty list', async () => {
    const h = await setup()
    const bodies: Record<string, unknown>[] = []
    h.server.events.on('request:start', ({request}) => {
      if (request.url.endsWith('/account_requests')) void request.clone().json().then((body) => bodies.push(body as Record<string, unknown>))
    })
    await signup(h.deps, options())
    expect(bodies).toHaveLength(1)
    expect(bodies[0]).toMatchObject({email: 'new@example.com', client_id: WIZARD_CLIENT_ID, code_challenge_method: 'S256', scopes: [...SIGNUP_SCOPES]})
    expect(bodies[0]!.code_challenge).toMatch(/^[\w-]{43}$/)
    expect(bodies[0]!.id).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('--json: the shape of the schema, with the real project key (not redacted), and no token anywhere', async () => {
    const h = await setup()
    const {result} = await signup(h.deps, options())
    const validate = schemaValidator('signup')
    const json = JSON.parse(JSON.stringify(result)) as unknown
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true)
    const printed = JSON.stringify(result)
    expect(printed).toContain(result.project.api_key)
    const stored = (await storedSessions(h.deps))[0]!
    expect(printed).not.toContain(stored.access_token)
    expect(printed).not.toContain(stored.refresh_token!)
    // The log is redacted: the project key never reaches it whole, nor the tokens.
    const log = readFileSync(path.join(h.deps.paths.state, 'onramp.log'), 'utf8')
    expect(log).not.toContain(result.project.api_key)
    expect(log).not.toContain(stored.access_token)
    // redact() would hide the key (phc_ rule): the JSON document is built from the result, not redacted.
    expect(redact(result.project.api_key)).not.toContain(result.project.api_key)
  })

  it('the human summary names where the project lives, its key, and the email to verify', async () => {
    const h = await setup()
    const outcome = await signup(h.deps, options())
    const text = renderSignup(outcome)
    expect(text).toContain(outcome.result.project.host)
    expect(text).toContain(outcome.result.project.api_key)
    expect(text).toMatch(/Verify your email: .*new@example\.com/)
    const stored = (await storedSessions(h.deps))[0]!
    expect(text).not.toContain(stored.access_token)
  })

  it('--no-store: the project is made, nothing is stored, session is null (valid per the schema)', async () => {
    const h = await setup()
    const {result} = await signup(h.deps, options({store: false}))
    expect(result.session).toBeNull()
    expect(result.project.api_key).toMatch(/^phc_/)
    expect(await (await h.deps.sessions()).list()).toEqual([])
    expect(h.credentialsText()).toBe('')
    // Tokens nothing keeps are revoked once the project is made.
    expect(h.mock.control.snapshot().counters.revocations).toBeGreaterThanOrEqual(1)
    expect(schemaValidator('signup')(JSON.parse(JSON.stringify(result)))).toBe(true)
  })

  it('a signup for another account on the same server and app is kept beside the first', async () => {
    const h = await setup()
    await signup(h.deps, options({email: 'first@example.com'}))
    await signup(h.deps, options({email: 'second@example.com'}))
    expect(h.stderr.text()).not.toMatch(/Replaced/)
    expect((await storedSessions(h.deps)).map((session) => session.user?.email).sort()).toEqual(['first@example.com', 'second@example.com'])
  })

  it('--output-env appends the variables in $GITHUB_ENV format after what the file held, naming each (the personal API key too)', async () => {
    const h = await setup()
    const file = path.join(h.home, 'github_env')
    const {writeFileSync} = await import('node:fs')
    writeFileSync(file, 'EARLIER=1\n')
    const {result} = await signup(h.deps, options({outputEnv: file}))
    expect(result.project.personal_api_key).toMatch(/^phx_/)
    expect(result.env_file).toEqual({path: file, variables: ['POSTHOG_PROJECT_API_KEY', 'POSTHOG_PROJECT_ID', 'POSTHOG_HOST', 'POSTHOG_PERSONAL_API_KEY']})
    expect(readFileSync(file, 'utf8')).toBe(
      `EARLIER=1\nPOSTHOG_PROJECT_API_KEY=${result.project.api_key}\nPOSTHOG_PROJECT_ID=${result.project.id}\nPOSTHOG_HOST=${result.project.host}\nPOSTHOG_PERSONAL_API_KEY=${result.project.personal_api_key}\n`,
    )
    const {parse} = await import('dotenv')
    expect(parse(readFileSync(file))).toEqual({EARLIER: '1', POSTHOG_PROJECT_API_KEY: result.project.api_key, POSTHOG_PROJECT_ID: result.project.id, POSTHOG_HOST: result.project.host, POSTHOG_PERSONAL_API_KEY: result.project.personal_api_key})
  })

  it('--output-env to a file that cannot be written stops before any account is requested (exit 2)', async () => {
    const h = await setup()
    await expect(signup(h.deps, options({outputEnv: path.join(h.home, 'no-such-dir', 'env')}))).rejects.toMatchObject({exit: 2, code: 'output_env_unwritable'})
    expect(h.mock.control.snapshot().counters.provisioning.account_requests).toBe(0)
  })
})
