import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createFileStore} from '../../src/session/file-store.js'
import {isolatedHome, ROOT, runCli} from '../support/cli.js'

/**
 * The hot commands answer from dist/fast/hot.cjs alone (one bundled file, which dist/fast/boot.cjs compiles
 * through node:vm with its code cache, so Node's module list shows the loader only): no @oclif/core, no other
 * file of onramp, no package from node_modules, and none of the built-ins that only a network call, a
 * browser, a prompt or the OAuth client needs. Which modules load is what start-up
 * costs (BENCHMARKS.md measures the time; a test never does).
 */
const probeDir = mkdtempSync(path.join(tmpdir(), 'onramp-modules-'))
const PROBE = path.join(ROOT, 'test', 'fixtures', 'module-probe.mjs')
const HEAVY_BUILTINS = ['crypto', 'http', 'https', 'http2', 'tls', 'dns', 'child_process', 'readline', 'zlib', 'worker_threads']
const home = isolatedHome()
const issuer = 'https://us.posthog.com'
let probes = 0

async function loaded(args: string[], env: Record<string, string | undefined> = {}) {
  const file = path.join(probeDir, `probe-${probes++}.json`)
  const result = await runCli(args, {env: {...home.env, ...env, NODE_OPTIONS: `--import=${pathToFileURL(PROBE).href}`, ONRAMP_TEST_PROBE_FILE: file}})
  const modules = JSON.parse(readFileSync(file, 'utf8')) as {files: string[]; builtins: string[]}
  return {result, files: modules.files.filter((name) => name !== PROBE).map((name) => path.relative(ROOT, name)), builtins: modules.builtins}
}

beforeAll(async () => {
  await createFileStore({path: path.join(home.env.XDG_CONFIG_HOME!, 'onramp', 'credentials.json')}).save({
    issuer, client_id: 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM', region: 'us', access_token: `pha_${'m'.repeat(44)}`, refresh_token: `phr_${'m'.repeat(44)}`,
    expires_at: new Date(Date.now() + 86_400_000).toISOString(), scope: ['user:read'], user: {email: 'modules@example.com'}, obtained_at: new Date().toISOString(), kind: 'oauth',
  })
})

afterAll(() => {
  home.cleanup()
  rmSync(probeDir, {recursive: true, force: true})
})

describe('the hot path loads one bundled file and nothing heavy', () => {
  it.each([
    ['token (file store, fresh session)', ['token'], {}],
    ['token --json', ['token', '--json'], {}],
    ['token with ONRAMP_TOKEN', ['token'], {ONRAMP_TOKEN: 'pha_from_the_environment'}],
    ['status', ['status'], {}],
    ['status --json', ['status', '--json'], {}],
    ['scopes --json', ['scopes', '--json'], {}],
    ['--version', ['--version'], {}],
  ] as const)('%s', async (_title, args, env) => {
    const {result, files, builtins} = await loaded([...args], env)
    expect(result.code).toBe(0)
    expect(files).toEqual([path.join('bin', 'run.cjs'), path.join('dist', 'fast', 'boot.cjs')])
    expect(builtins.filter((name) => HEAVY_BUILTINS.includes(name))).toEqual([])
  })

  it('the probe sees what the oclif path loads (so an empty answer above means something)', async () => {
    const {result, files, builtins} = await loaded(['token'], {ONRAMP_NO_FAST_PATH: '1'})
    expect(result.code).toBe(0)
    expect(files.some((name) => name.includes(path.join('node_modules', '@oclif', 'core')))).toBe(true)
    expect(builtins).toContain('fs')
  })
})
