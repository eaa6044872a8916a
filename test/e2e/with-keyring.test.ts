/**
 * scripts/with-keyring.sh, which the keychain tests and CI run under: a gnome-keyring that ends during
 * the run is started again by the bus, unlocked, with what was stored before, and the restart is
 * reported at the end (CI once saw the daemon crash in a storm of 16 `onramp token`; the stock service
 * file would have started it locked, failing every keychain test after it). A private keyring of its
 * own: killing the shared one would disturb the tests beside this one.
 */
import {spawnSync} from 'node:child_process'
import {appendFileSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {ROOT} from '../support/cli.js'
import {againIfKeyringRestarted, privateKeyringUnavailable} from '../support/keyring.js'

const noPrivateKeyring = privateKeyringUnavailable()

const OWNER_PID =
  'dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets | tail -n 1 | awk \'{print $2}\''

/** `lines` (bash, `set -eu` first) run under a private scripts/with-keyring.sh of their own. */
const underWithKeyring = (lines: string[]) =>
  spawnSync(path.join(ROOT, 'scripts', 'with-keyring.sh'), ['bash', '-c', ['set -eu', ...lines].join('\n')], {encoding: 'utf8', timeout: 60_000})

describe.skipIf(noPrivateKeyring !== undefined)('scripts/with-keyring.sh', () => {
  it('a daemon that crashes is started again by the bus, unlocked, keeping what was stored; the restart is reported', () => {
    const run = underWithKeyring([
      'printf kept | secret-tool store --label=before onramp-restart-test before',
      `first=$(${OWNER_PID})`,
      'kill -KILL "$first"',
      // Until the bus has dropped the dead owner: the next call then starts a new daemon.
      'while [ "$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | tail -n 1 | awk \'{print $2}\')" = true ]; do sleep 0.05; done',
      'echo "read: $(timeout 10 secret-tool lookup onramp-restart-test before)"',
      'printf new | timeout 10 secret-tool store --label=after onramp-restart-test after',
      'echo "written: $(timeout 10 secret-tool lookup onramp-restart-test after)"',
      `[ "$(${OWNER_PID})" != "$first" ] && echo "another daemon"`,
    ])
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toBe('read: kept\nwritten: new\nanother daemon\n')
    expect(run.stderr).toMatch(/gnome-keyring-daemon ended 1 time\(s\) during the run and the bus started it again \(unlocked\)/)
  })

  it('a crash in opening a plain session (only onramp\'s plain read opens one) fails the run even when CMD passed', () => {
    // What gnome-keyring 42 prints when it aborts on a client whose first call is a plain OpenSession.
    const run = underWithKeyring([
      'secret-tool search --all onramp-restart-test none >/dev/null 2>&1 || true',
      `pid=$(${OWNER_PID})`,
      'printf "** CRITICAL **: plain_negotiate: assertion \'session\' failed\\n" >>"$ONRAMP_KEYRING_LOG"',
      'kill -KILL "$pid"',
    ])
    expect(run.status, run.stderr).toBe(1)
    expect(run.stderr).toMatch(/crashed opening a \*plain\* session, which only onramp's plain read opens/)
  })

  it('a run where the daemon never ends reports nothing', () => {
    const run = underWithKeyring(['printf x | secret-tool store --label=x onramp-restart-test x', 'secret-tool lookup onramp-restart-test x'])
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toBe('x')
    expect(run.stderr).not.toMatch(/gnome-keyring-daemon ended/)
  })
})

describe('againIfKeyringRestarted (the storm tests\' one retry)', () => {
  let dir = ''
  let starts = ''
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'onramp-starts-'))
    starts = path.join(dir, 'daemon.starts')
  })
  afterEach(() => {
    vi.unstubAllEnvs()
    rmSync(dir, {recursive: true, force: true})
  })

  it('runs the test again once when the daemon was started again while it ran', async () => {
    vi.stubEnv('ONRAMP_KEYRING_STARTS', starts)
    appendFileSync(starts, 'started\n')
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    let runs = 0
    await againIfKeyringRestarted(async () => {
      if (++runs === 1) {
        appendFileSync(starts, 'started\n') // the daemon ended and the bus started it again
        throw new Error('16 processes failed')
      }
    })
    expect(runs).toBe(2)
    expect(warn.mock.calls[0]![0]).toMatch(/started again during this test.*16 processes failed/)
  })

  it('never retries a failure with the same daemon throughout, nor outside with-keyring.sh', async () => {
    for (const file of [starts, undefined]) {
      if (file) vi.stubEnv('ONRAMP_KEYRING_STARTS', file)
      else vi.stubEnv('ONRAMP_KEYRING_STARTS', '')
      let runs = 0
      await expect(againIfKeyringRestarted(async () => {
        runs++
        throw new Error('a failure of our own')
      })).rejects.toThrow('a failure of our own')
      expect(runs).toBe(1)
    }
  })
})
