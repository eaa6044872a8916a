/**
 * The wizard app's fixed redirect ports (8235-8240, `BUILTIN_CALLBACK_PORTS`) are one resource for the
 * whole machine: test files run two at a time, several worktrees run suites at once, and a developer's
 * own `onramp login` may be waiting on one. A test that needs them (signup's existing-account consent
 * on 8239, doctor's port check on the built-in regions, the consent in Chromium) holds this lock first;
 * every other test logs in on a free port (`loginDefaults`, or an app on a custom issuer: `freePortApp`).
 *
 * The lock is a file under `os.tmpdir()` (not under the worktree), so suites of other worktrees wait too.
 * It is `src/session/lock.ts`: the holder heartbeats, and one that dies (a killed vitest worker) is
 * recovered at once by its dead pid. `test/support/wizard-ports-guard.ts` (a vitest setup file) fails any in-process listen on
 * these ports by a test that does not hold it.
 */
import {execFileSync} from 'node:child_process'
import {createServer} from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {afterAll, afterEach, beforeAll} from 'vitest'

import {BUILTIN_CALLBACK_PORTS} from '../../src/select-server.js'
import {withLock} from '../../src/session/lock.js'

export const WIZARD_PORTS: readonly number[] = BUILTIN_CALLBACK_PORTS

/** Where the lock lives: one folder per user under the system's temp folder, shared by every worktree. */
export const WIZARD_PORTS_LOCK = path.join(os.tmpdir(), `onramp-tests-${typeof process.getuid === 'function' ? process.getuid() : 'user'}`, 'wizard-ports.lock')

/** How long a test waits for the other holders (files that need the ports run one after another). */
const WAIT_MS = 240_000
/** A hook that waits for the lock needs a longer timeout than the lock's own wait. */
export const WIZARD_PORTS_HOOK_TIMEOUT = WAIT_MS + 30_000
/** How long a port the lock's holders do not explain may take to come free (a listener closing) before it is blamed on another program. */
const FREE_GRACE_MS = 5_000

const HELD = Symbol.for('onramp.tests.wizardPortsHeld')
type HeldGlobal = typeof globalThis & {[HELD]?: number}

/** Whether this test process holds the lock now (the guard's question). */
export function wizardPortsHeldHere(): boolean {
  return ((globalThis as HeldGlobal)[HELD] ?? 0) > 0
}

/**
 * Takes the lock (waiting for other files and worktrees), then checks that `ports` are free on 127.0.0.1
 * and ::1: one held by anything else fails here, naming the port and, where `ss` can tell, the program.
 * Returns the release function.
 */
export async function holdWizardPorts(ports: readonly number[] = WIZARD_PORTS): Promise<() => Promise<void>> {
  let acquired!: () => void
  let release!: () => void
  const gotIt = new Promise<void>((resolve) => (acquired = resolve))
  const released = new Promise<void>((resolve) => (release = resolve))
  const holding = withLock(
    WIZARD_PORTS_LOCK,
    async () => {
      acquired()
      await released
    },
    // The holder beats while it holds the lock (for a whole file, maybe) and a dead one is recovered at
    // once by its pid (the lock is on this machine), so a long stale limit costs nothing and spares a
    // worker whose event loop is busy for a while.
    {timeoutMs: WAIT_MS, staleMs: 120_000},
  )
  // A lock that could not be taken rejects `holding` before `acquired` is ever called.
  await Promise.race([gotIt, holding])
  const global = globalThis as HeldGlobal
  global[HELD] = (global[HELD] ?? 0) + 1
  const letGo = async () => {
    global[HELD] = (global[HELD] ?? 1) - 1
    release()
    await holding
  }
  try {
    await assertWizardPortsFree(ports)
  } catch (error) {
    await letGo()
    throw error
  }
  return letGo
}

/** Holds the ports for every test of the enclosing file or describe (one `beforeAll` wait). */
export function holdWizardPortsForFile(ports?: readonly number[]): void {
  let release: (() => Promise<void>) | undefined
  beforeAll(async () => {
    release = await holdWizardPorts(ports)
  }, WIZARD_PORTS_HOOK_TIMEOUT)
  afterAll(async () => {
    await release?.()
    release = undefined
  })
}

/** Holds the ports from `hold()` to the end of the test that called it: `const ports = wizardPortsPerTest()`, then `await ports.hold()`. */
export function wizardPortsPerTest(): {hold: (ports?: readonly number[]) => Promise<void>} {
  let release: (() => Promise<void>) | undefined
  afterEach(async () => {
    await release?.()
    release = undefined
  })
  return {
    hold: async (ports) => {
      release = await holdWizardPorts(ports)
    },
  }
}

/** Fails naming each of `ports` that something holds on 127.0.0.1 or ::1 after `graceMs` (call it while holding the lock). */
export async function assertWizardPortsFree(ports: readonly number[], graceMs = FREE_GRACE_MS): Promise<void> {
  const deadline = performance.now() + graceMs
  for (;;) {
    const held: Array<{port: number; address: string}> = []
    for (const port of ports) for (const address of ['127.0.0.1', '::1']) if ((await probe(address, port)) === 'held') held.push({port, address})
    if (held.length === 0) return
    if (performance.now() >= deadline) {
      const where = held.map(({port, address}) => `${port} on ${address}${holderOf(port)}`).join(', ')
      throw new Error(
        `The wizard app's fixed redirect port ${where} is held by another program, not by an onramp test (those take ${WIZARD_PORTS_LOCK} first). ` +
          `Stop it (see lsof -i :${held[0]!.port}) and run the tests again.`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

function probe(host: string, port: number): Promise<'free' | 'held' | 'absent'> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE' || error.code === 'EACCES' ? 'held' : 'absent'))
    server.listen({host, port, exclusive: true}, () => server.close(() => resolve('free')))
  })
}

/** ` (node, pid 1234)` when `ss` can name the listener (Linux, same user), else nothing. */
function holderOf(port: number): string {
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], {encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore']})
    const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(out)
    return match ? ` (${match[1]}, pid ${match[2]})` : ''
  } catch {
    return ''
  }
}
