// `onramp login --device` (RFC 8628) from the built binary against the served mock started with
// --device-grant, approved, denied and interrupted the way a person would (the mock's control API plays
// the person on the other device); every --json document validated against schemas/.
import {existsSync} from 'node:fs'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCli, type CliResult} from '../support/cli.js'
import {servedMockForFile, WIZARD_CLIENT_ID} from '../support/mock-process.js'
import {documentOf} from '../support/schemas.js'

const served = servedMockForFile({args: ['--device-grant'], browser: false})
const env = served.env

/** Runs login and, once the code is printed, lets `person` act on it (approve, deny, press Ctrl-C). */
function loginWith(args: string[], person: (userCode: string, stop: () => void) => Promise<void> | void): Promise<CliResult> {
  let stderr = ''
  let acted = false
  let child: import('node:child_process').ChildProcess | undefined
  return runCli(['login', ...args], {
    env: env(),
    timeoutMs: 30_000,
    onChild: (spawned) => (child = spawned),
    onStderr: (chunk) => {
      stderr += chunk
      const code = /Your one-time code:\s+([A-Z]{4}-[A-Z]{4})/.exec(stderr)?.[1]
      if (code && !acted) {
        acted = true
        void Promise.resolve(person(code, () => child?.kill('SIGINT')))
      }
    },
  })
}

describe('onramp login --device against the served mock (--device-grant)', () => {
  it('approved on the other device: exit 0, the login document, the session in status', async () => {
    const result = await loginWith(['--device', '--json'], (user_code) => served.mock.control('device/approve', {user_code}))
    expect(result.code, result.stderr).toBe(0)
    const document = documentOf(result, 'login')
    expect(document).toMatchObject({session: {issuer: served.mock.issuer, client_id: WIZARD_CLIENT_ID, user: {email: 'dev@example.com'}, missing_required_scopes: []}})
    expect(result.stderr).toMatch(new RegExp(`${served.mock.issuer.replace(/[.]/g, '\\.')}/device\\?user_code=[A-Z]{4}-[A-Z]{4}`))
    const status = documentOf(await runCli(['status', '--json'], {env: env()}), 'status')
    expect(status).toMatchObject({sessions: [{issuer: served.mock.issuer, kind: 'oauth'}]})
  })

  it('with no browser here, plain login offers the device grant first', async () => {
    const result = await loginWith(['--json'], (user_code) => served.mock.control('device/approve', {user_code}))
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/No browser can open here.*one-time code/)
    documentOf(result, 'login')
  })

  it('denied: exit 3 access_denied as an error document', async () => {
    const result = await loginWith(['--device', '--json'], (user_code) => served.mock.control('device/deny', {user_code}))
    expect(result.code).toBe(3)
    expect(documentOf(result, 'error')).toMatchObject({error: {code: 'access_denied', exit: 3, next_command: 'onramp login --device'}})
  })

  it('expired: exit 3 expired_token, "run it again"', async () => {
    const result = await loginWith(['--device', '--json'], (user_code) => served.mock.control('device/expire', {user_code}))
    expect(result.code).toBe(3)
    const {error} = documentOf(result, 'error') as {error: {code: string; message: string}}
    expect(error.code).toBe('expired_token')
    expect(error.message).toMatch(/again/)
  })

  it('--timeout runs out before the code expires: exit 3 login_timeout as an error document, nothing stored', async () => {
    const result = await loginWith(['--device', '--timeout', '2', '--json'], () => {})
    expect(result.code, result.stderr).toBe(3)
    expect(documentOf(result, 'error')).toMatchObject({error: {code: 'login_timeout', exit: 3, next_command: 'onramp login --device'}})
    expect(result.stderr).toMatch(/Waiting up to 2 s for the approval \(--timeout/)
    expect(existsSync(path.join(served.home.env.XDG_CONFIG_HOME!, 'onramp', 'credentials.json'))).toBe(false)
  })

  it('Ctrl-C while polling stops at once: exit 130, nothing stored', async () => {
    // Codes polled every 10 minutes: a CLI that waited for the next poll instead of stopping at once would
    // be killed by loginWith's 30 s guard (code null), so exit 130 proves the wait ended on the signal.
    const {settings} = await served.mock.control<{settings: {interval: number; expires_in: number}}>('device')
    await served.mock.control('device', {interval: 600, expires_in: 1200})
    let pressed: string | undefined
    const result = await loginWith(['--device', '--json'], (code, stop) => {
      pressed = code
      stop()
    }).finally(() => served.mock.control('device', {interval: settings.interval, expires_in: settings.expires_in}))
    expect(result.code, result.stderr).toBe(130)
    const {codes} = await served.mock.control<{codes: Array<{user_code: string; status: string; polls: number}>}>('device')
    expect(codes.find((code) => code.user_code === pressed)).toMatchObject({status: 'pending', polls: 0})
    expect(documentOf(result, 'error')).toMatchObject({error: {code: 'interrupted', exit: 130}})
    expect(existsSync(path.join(served.home.env.XDG_CONFIG_HOME!, 'onramp', 'credentials.json'))).toBe(false)
  })

  it('Ctrl-C while waiting for the browser redirect stops the same way (exit 130)', async () => {
    let child: import('node:child_process').ChildProcess | undefined
    let sent = false
    const result = await runCli(['login', '--no-browser', '--json'], {
      env: env(),
      timeoutMs: 30_000,
      onChild: (spawned) => (child = spawned),
      onStdin: () => {},
      onStderr: (chunk) => {
        if (!sent && /paste the address/.test(chunk)) {
          sent = true
          child?.kill('SIGINT')
        }
      },
    })
    expect(result.code).toBe(130)
    expect(documentOf(result, 'error')).toMatchObject({error: {code: 'interrupted', exit: 130}})
  })
})
