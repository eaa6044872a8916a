/**
 * A vitest setup file: any in-process listen on the wizard app's fixed redirect ports (8235-8240) by a
 * test that does not hold their lock (`test/support/wizard-ports.ts`) fails at once, naming the port,
 * instead of passing today and failing tomorrow when another file or worktree holds that port.
 * Tests that do not test the fixed ports log in on a free port (`loginDefaults`, `freePortApp`).
 */
import net from 'node:net'

import {WIZARD_PORTS, wizardPortsHeldHere} from './wizard-ports.js'

const listen = net.Server.prototype.listen

net.Server.prototype.listen = function guardedListen(this: net.Server, ...args: unknown[]) {
  const port = portOf(args[0])
  if (port !== undefined && WIZARD_PORTS.includes(port) && !wizardPortsHeldHere()) {
    throw new Error(
      `This test listens on ${port}, one of the wizard app's fixed redirect ports, without holding their lock: ` +
        'call holdWizardPortsForFile() or wizardPortsPerTest().hold() (test/support/wizard-ports.ts) if the fixed port is what it tests, else log in on a free port.',
    )
  }
  return (listen as (...rest: unknown[]) => net.Server).apply(this, args)
} as typeof net.Server.prototype.listen

function portOf(first: unknown): number | undefined {
  if (typeof first === 'number') return first
  if (typeof first === 'string' && /^\d+$/.test(first)) return Number(first)
  if (first && typeof first === 'object' && 'port' in first) return portOf((first as {port: unknown}).port)
  return undefined
}
