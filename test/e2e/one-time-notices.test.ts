/**
 * Issue 20 item 7: the plaintext-storage advice (with its "run `onramp login`") is a one-time notice,
 * remembered in the state folder by the file it is about: signup shows it, a later status does not; a
 * session stored in another file shows it again. The fact ("plaintext file ..., mode 0600") stays on every line.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'
import {servedMockForFile, WIZARD_CLIENT_ID} from '../support/mock-process.js'

const ADVICE = 'To move it into the OS keychain, run `onramp login`'

// One home for the file: the second test's signup comes after the first test's notices.
const served = servedMockForFile({homePer: 'file'})
const server = () => ['--host', served.mock.issuer, '--client-id', WIZARD_CLIENT_ID]

describe('one-time notices are remembered in the state folder', () => {
  it('the plaintext-storage advice shows on the first signup, not again on status or the next signup; the storage fact stays', async () => {
    const first = await runCli(['signup', '--email', 'first@example.com', '--non-interactive', ...server()], {env: served.home.env})
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toContain(ADVICE)

    const status = await runCli(['status', ...server()], {env: served.home.env})
    expect(status.code, status.stderr).toBe(0)
    expect(status.stdout).toContain('plaintext file')
    expect(status.stdout).not.toContain(ADVICE)

    const second = await runCli(['signup', '--email', 'second@example.com', '--non-interactive', ...server()], {env: served.home.env})
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout).toMatch(/Stored: +plaintext file .* \(mode 0600\)/)
    expect(second.stdout).not.toContain(ADVICE)

    const remembered = JSON.parse(readFileSync(path.join(served.home.env.XDG_STATE_HOME!, 'onramp', 'notices-shown.json'), 'utf8')) as Record<string, unknown>
    expect(Object.keys(remembered).some((key) => key.startsWith('plaintext-storage '))).toBe(true)
  }, 60_000)

  it('shows the advice again when what it is about changes (the session now lives in another file)', async () => {
    const otherConfig = path.join(served.home.home, 'other-config')
    const status = await runCli(['signup', '--email', 'third@example.com', '--non-interactive', ...server()], {env: {...served.home.env, XDG_CONFIG_HOME: otherConfig}})
    expect(status.code, status.stderr).toBe(0)
    expect(status.stdout).toContain(ADVICE)
  }, 60_000)
})
