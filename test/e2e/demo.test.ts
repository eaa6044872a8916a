import {spawn} from 'node:child_process'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {cliEnv, ROOT} from '../support/cli.js'

/** `npm run demo` (the README's first command) passes: every step did what it should, the drift stop included. */
describe('npm run demo', () => {
  it('runs the whole job on the embedded mock and exits 0, showing scope drift stopped before any browser opens', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'demo.js')], {cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code, output).toBe(0)
    for (const step of ['scopes --check', 'signup --non-interactive', 'status', 'token', 'login', 'projects create', 'token --min-valid 7200', 'logout --all']) {
      expect(output).toContain(`$ onramp ${step}`)
    }
    expect(output).toMatch(/narrow the wizard app's ceiling/)
    expect(output).toMatch(/\(exit 4, as expected\)[\s\S]*\(exit 4, as expected\)/)
    expect(output).toContain('Stopped before any browser opened')
    expect(output).toContain('The server saw exactly one refresh')
    expect(output).not.toMatch(/\bph[ar]_[A-Za-z0-9]{20,}/) // tokens are masked
    expect(output).toContain('Demo OK')
  }, 180_000)
})
