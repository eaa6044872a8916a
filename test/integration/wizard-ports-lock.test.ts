/**
 * The test support's hold on the wizard app's fixed redirect ports (test/support/wizard-ports.ts): tests
 * that need them take turns, a port held by another program fails naming it, and a test that listens on
 * one without the hold fails at once (the guard in test/support/wizard-ports-guard.ts).
 */
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {createServer} from 'node:net'

import {describe, expect, it} from 'vitest'

import {assertWizardPortsFree, holdWizardPorts, WIZARD_PORTS_HOOK_TIMEOUT} from '../support/wizard-ports.js'

describe('the wizard ports lock of the test support', () => {
  it('a second holder waits until the first lets go', async () => {
    const first = await holdWizardPorts([])
    let secondHeld = false
    const second = holdWizardPorts([]).then((release) => ((secondHeld = true), release))
    // The second waiter polls the lock file; give it a few polls to (wrongly) get in.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(secondHeld).toBe(false)
    await first()
    const release = await second
    expect(secondHeld).toBe(true)
    await release()
  }, WIZARD_PORTS_HOOK_TIMEOUT)

  it('a port held by another program fails naming the port and the program', async () => {
    const release = await holdWizardPorts([])
    const squatter = spawn(process.execPath, ['-e', "require('net').createServer().listen(8239, '127.0.0.1', () => console.log('listening'))"], {stdio: ['ignore', 'pipe', 'inherit']})
    try {
      await new Promise<void>((resolve, reject) => {
        squatter.stdout.on('data', () => resolve())
        squatter.once('exit', (code) => reject(new Error(`the squatter exited (${code}): is 8239 taken?`)))
      })
      const error = await assertWizardPortsFree([8239], 0).catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(Error)
      expect((error as Error).message).toMatch(/port 8239 on 127\.0\.0\.1/)
      expect((error as Error).message).toMatch(/held by another program, not by an onramp test/)
      // `ss` names the listener where it is installed (iproute2).
      if (['/usr/bin/ss', '/bin/ss', '/usr/sbin/ss'].some((file) => existsSync(file))) expect((error as Error).message).toContain(`pid ${squatter.pid}`)
    } finally {
      squatter.kill()
      await release()
    }
  }, WIZARD_PORTS_HOOK_TIMEOUT)

  it('listening on a fixed port without holding the lock fails at once, naming the helper to call', () => {
    const server = createServer()
    expect(() => server.listen(8238, '127.0.0.1')).toThrow(/listens on 8238, one of the wizard app's fixed redirect ports, without holding their lock: call holdWizardPortsForFile/)
    expect(() => server.listen({port: 8235, host: '127.0.0.1'})).toThrow(/8235/)
  })
})
