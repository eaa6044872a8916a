/**
 * The provisioning refresh under load: 16 `onramp token` processes at once with an expired signup
 * session. The provisioning token endpoint rotates with NO grace period (server.md 4.2): a second
 * refresh with the same token would be invalid_grant, so exactly one may reach the mock.
 */
import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'
import {expireStoredSessions} from '../support/credentials-file.js'
import {servedMockForFile} from '../support/mock-process.js'
import {expectOneToken, tokenStorm} from '../support/token-storm.js'

const served = servedMockForFile({browser: false})

describe('provisioning refresh storm', () => {
  it('16 processes with an expired signup session: one refresh, all exit 0 with the same working token', async () => {
    const env = served.env()
    const run = await runCli(['signup', '--email', 'storm@example.com', '--non-interactive', '--json'], {env})
    expect(run.code, run.stderr).toBe(0)
    const {project} = JSON.parse(run.stdout) as {project: {id: string}}

    const [session] = expireStoredSessions(served.home.env)
    expect(session!.kind).toBe('provisioning')
    const expired = session!.access_token

    const refreshes = async () =>
      (await served.mock.control<{counters: {provisioning: {token_requests: {refresh_token: number}}}}>('state')).counters.provisioning.token_requests.refresh_token
    const before = await refreshes()
    const token = expectOneToken(await tokenStorm(env, 16, 180_000))
    expect(token).not.toBe(expired)
    expect(await refreshes()).toBe(before + 1)
    const read = await fetch(`${served.mock.issuer}/api/agentic/provisioning/resources/${project.id}`, {headers: {authorization: `Bearer ${token}`}})
    expect(read.status).toBe(200)
  }, 240_000)
})
