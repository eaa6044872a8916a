/**
 * The doctor's keychain round trip is a real, type-checked module (src/doctor/keychain-probe.ts) that
 * the built CLI runs as its own child process with the same Node: these run the built program itself.
 * Run with a keyring: scripts/with-keyring.sh npx vitest run test/e2e/doctor-keychain-probe.test.ts
 */
import {spawnSync} from 'node:child_process'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {NO_BUS, secretServiceUnavailable} from '../support/keyring.js'
import {cliEnv, ROOT} from '../support/cli.js'
import {itUnless} from '../support/skip.js'

const PROBE = path.join(ROOT, 'dist', 'doctor', 'keychain-probe.js')
const noSecretService = secretServiceUnavailable()

function probe(env: NodeJS.ProcessEnv): {status: number | null; answer: unknown} {
  const result = spawnSync(process.execPath, [PROBE, '5000'], {env, encoding: 'utf8', timeout: 30_000})
  return {status: result.status, answer: JSON.parse(result.stdout) as unknown}
}

describe('dist/doctor/keychain-probe.js (the program doctor runs in a child)', () => {
  itUnless(noSecretService)('answers {"ok":true} after a write, read and delete on a working Secret Service', () => {
    expect(probe(cliEnv())).toEqual({status: 0, answer: {ok: true}})
  })

  it('answers the reason, and exits, when no D-Bus answers', () => {
    const env = cliEnv({DBUS_SESSION_BUS_ADDRESS: NO_BUS})
    const {status, answer} = probe(env)
    expect(status).toBe(0)
    expect(answer).toEqual({error: expect.stringMatching(/D-Bus session bus .* cannot be reached/)})
  })
})
