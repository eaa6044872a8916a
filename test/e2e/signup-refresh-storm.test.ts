/**
 * The provisioning refresh under load: 16 `onramp token` processes at once with an expired signup
 * session. The provisioning token endpoint rotates with NO grace period (server.md 4.2): a second
 * refresh with the same token would be invalid_grant, so exactly one may reach the mock.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {isolatedHome, runCli} from '../support/cli.js'
import {startMockProcess, type MockProcess} from '../support/mock-process.js'

const WIZARD_CLIENT_ID = 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM'

let mock: MockProcess
beforeAll(async () => {
  mock = await startMockProcess()
})
afterAll(async () => {
  await mock.stop()
})

describe('provisioning refresh storm', () => {
  it('16 processes with an expired signup session: one refresh, all exit 0 with the same working token', async () => {
    const home = isolatedHome()
    try {
      const env = {...home.env, ONRAMP_HOST: mock.issuer, ONRAMP_CLIENT_ID: WIZARD_CLIENT_ID}
      const run = await runCli(['signup', '--email', 'storm@example.com', '--non-interactive', '--json'], {env})
      expect(run.code, run.stderr).toBe(0)
      const {project} = JSON.parse(run.stdout) as {project: {id: string}}

      const file = path.join(home.env.XDG_CONFIG_HOME!, 'onramp', 'credentials.json')
      const data = JSON.parse(readFileSync(file, 'utf8')) as {sessions: Record<string, {access_token: string; expires_at: string; kind: string}>}
      const [session] = Object.values(data.sessions)
      expect(session!.kind).toBe('provisioning')
      const expired = session!.access_token
      session!.expires_at = new Date(Date.now() - 1000).toISOString()
      writeFileSync(file, JSON.stringify(data, null, 2), {mode: 0o600})

      const refreshes = async () =>
        (await mock.control<{counters: {provisioning: {token_requests: {refresh_token: number}}}}>('state')).counters.provisioning.token_requests.refresh_token
      const before = await refreshes()
      const runs = await Promise.all(Array.from({length: 16}, () => runCli(['token'], {env, timeoutMs: 180_000})))
      for (const each of runs) expect(each.code, each.stderr).toBe(0)
      const tokens = new Set(runs.map((each) => each.stdout.trim()))
      expect(tokens.size).toBe(1)
      const [token] = [...tokens]
      expect(token).not.toBe(expired)
      expect(await refreshes()).toBe(before + 1)
      const read = await fetch(`${mock.issuer}/api/agentic/provisioning/resources/${project.id}`, {headers: {authorization: `Bearer ${token}`}})
      expect(read.status).toBe(200)
    } finally {
      home.cleanup()
    }
  }, 240_000)
})
