import {spawn} from 'node:child_process'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {cliEnv, ROOT} from '../support/cli.js'

let run: Promise<{code: number | null; output: string}> | undefined
/** One run of the demo, shared by the tests below (it takes ~10 s). */
function demoRun() {
  run ??= new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'demo.js')], {cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('close', (code) => resolve({code, output}))
  })
  return run
}

/** `npm run demo` (the README's first command) passes: every step did what it should, the drift stop included. */
describe('npm run demo', () => {
  it('runs the whole job on the embedded mock and exits 0, showing scope drift stopped before any browser opens', async () => {
    const {code, output} = await demoRun()
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

  it('says why the stop matters, shows only the changed scope rows, prints lines in the order they happened and commands that paste', async () => {
    const {code, output} = await demoRun()
    expect(code, output).toBe(0)
    // The token the stop prevents, and the 401 it would have caused later.
    expect(output).toMatch(/Why it matters:.*session without llm_gateway:read.*401.*an hour later/)
    // The first check prints the whole table; the second only the rows that changed, marked.
    const rows = output.split('\n').filter((line) => /^\s+(login|signup)\s+\S+\s+(yes|-)\s/.test(line))
    const changed = rows.filter((line) => line.includes('<- CHANGED'))
    expect(changed.map((line) => line.trim().split(/\s+/).slice(0, 2).join(' '))).toEqual(['login llm_gateway:read', 'signup llm_gateway:read'])
    expect(rows.length - changed.length, output).toBe(20)
    // Login's URL line came before its "Logged in" (the order it happened in).
    const lastLogin = output.lastIndexOf('$ onramp login\n')
    const afterLogin = output.slice(lastLogin)
    expect(afterLogin.indexOf('Open this URL'), afterLogin).toBeGreaterThan(-1)
    expect(afterLogin.indexOf('Open this URL')).toBeLessThan(afterLogin.indexOf('Logged in'))
    // Printed commands paste into a shell: the name with a space is quoted.
    expect(output).toMatch(/\$ onramp projects create --id demo-[0-9a-f]+ --name "Demo run"\n/)
  }, 180_000)
})
