import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createFileStore} from '../../src/session/file-store.js'
import {isolatedHome, runCli} from '../support/cli.js'

/**
 * The built binary's code cache (src/fast/boot.ts): after a hot command succeeds, `<XDG cache>/onramp/code-cache/`
 * holds one private file for it, named after Node, the architecture and the exact dist/fast/hot.cjs; later runs
 * use it. A damaged cache, a cache in a folder others can write, or a failed command never change an answer.
 */
const TOKEN = `pha_${'c'.repeat(44)}`
let home: ReturnType<typeof isolatedHome>
let cacheDir: string

beforeEach(async () => {
  home = isolatedHome()
  cacheDir = path.join(home.env.XDG_CACHE_HOME!, 'onramp', 'code-cache')
  await createFileStore({path: path.join(home.env.XDG_CONFIG_HOME!, 'onramp', 'credentials.json')}).save({
    issuer: 'https://us.posthog.com', client_id: 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM', region: 'us', access_token: TOKEN, refresh_token: `phr_${'c'.repeat(44)}`,
    expires_at: new Date(Date.now() + 86_400_000).toISOString(), scope: ['user:read'], user: {email: 'cache@example.com'}, obtained_at: new Date().toISOString(), kind: 'oauth',
  })
})

afterEach(() => home.cleanup())

const token = (env: Record<string, string | undefined> = {}) => runCli(['token'], {env: {...home.env, ...env}})
const cacheFiles = () => (existsSync(cacheDir) ? readdirSync(cacheDir).sort() : [])

describe('the code cache of the hot path', () => {
  it('is written by the first successful run of each hot command, private, and left alone by later runs', async () => {
    expect(await token()).toMatchObject({code: 0, stdout: `${TOKEN}\n`})
    const [file = 'missing'] = cacheFiles()
    expect(cacheFiles()).toHaveLength(1)
    expect(file).toMatch(new RegExp(`^${process.version.replace(/\./g, '\\.')}-${process.arch}-[0-9a-f]{16}-token\\.bin$`))
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700)
    expect(statSync(path.join(cacheDir, file)).mode & 0o777).toBe(0o600)
    const written = readFileSync(path.join(cacheDir, file))
    expect(await token()).toMatchObject({code: 0, stdout: `${TOKEN}\n`})
    expect(readFileSync(path.join(cacheDir, file)).equals(written)).toBe(true)

    expect((await runCli(['--version'], {env: home.env})).code).toBe(0)
    expect((await runCli(['status', '--json'], {env: home.env})).code).toBe(0)
    expect(cacheFiles().map((name) => name.replace(/^.*-/, ''))).toEqual(['status.bin', 'token.bin', 'version.bin'])
  })

  it('a damaged cache changes no answer and is replaced', async () => {
    await token()
    const [file = 'missing'] = cacheFiles()
    writeFileSync(path.join(cacheDir, file), Buffer.alloc(2048, 1))
    expect(await token()).toMatchObject({code: 0, stdout: `${TOKEN}\n`, stderr: ''})
    expect(readFileSync(path.join(cacheDir, file)).equals(Buffer.alloc(2048, 1))).toBe(false)
  })

  it('is neither read nor written in a folder other users can write', async () => {
    mkdirSync(cacheDir, {recursive: true, mode: 0o700})
    chmodSync(cacheDir, 0o777)
    expect(await token()).toMatchObject({code: 0, stdout: `${TOKEN}\n`, stderr: ''})
    expect(cacheFiles()).toEqual([])
  })

  it('a failed command writes none; the oclif path and NODE_DISABLE_COMPILE_CACHE=1 write none', async () => {
    const empty = isolatedHome()
    try {
      expect((await runCli(['token'], {env: empty.env})).code).toBe(3)
      expect(existsSync(path.join(empty.env.XDG_CACHE_HOME!, 'onramp', 'code-cache'))).toBe(false)
    } finally {
      empty.cleanup()
    }
    expect(await token({NODE_DISABLE_COMPILE_CACHE: '1'})).toMatchObject({code: 0, stdout: `${TOKEN}\n`})
    expect(await token({ONRAMP_NO_FAST_PATH: '1'})).toMatchObject({code: 0, stdout: `${TOKEN}\n`})
    expect(cacheFiles()).toEqual([])
  })

  it('removes caches of older onramp builds beyond the two written last, when it writes its own', async () => {
    mkdirSync(cacheDir, {recursive: true, mode: 0o700})
    // Dated by the files alone (1970 + a few seconds): only their order matters, never this machine's clock.
    const older = ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb', 'cccccccccccccccc'].map((build, index) => {
      const name = `${process.version}-${process.arch}-${build}-token.bin`
      writeFileSync(path.join(cacheDir, name), 'old', {mode: 0o600})
      utimesSync(path.join(cacheDir, name), index + 1, index + 1)
      return name
    })
    await token()
    const names = cacheFiles()
    expect(names).not.toContain(older[0])
    expect(names).toEqual(expect.arrayContaining([older[1], older[2]]))
    expect(names).toHaveLength(3)
  })
})
