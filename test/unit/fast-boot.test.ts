import {chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {codeCacheFile, HOT_WRAPPER, loadHot, staleCaches} from '../../src/fast/boot.js'

/**
 * src/fast/boot.ts, the loader bin/run.cjs calls: hot.cjs through node:vm with a code cache per command made
 * after a run (so it holds the functions the run compiled), kept only in a private folder. A stand-in hot
 * file here; test/e2e/code-cache.test.ts runs the real binary.
 */
const require = createRequire(import.meta.url)
let dir: string
let hotFile: string
let cacheFile: string

// A hot module whose functions are compiled only when called (so a cache made after a call holds more than one
// made before), using the wrapper's require, __filename and the host import() the build puts in place of import().
const HOT_SOURCE = `
exports.runFast = async (argv) => {
  const path = await __onramp_import('node:path')
  const {sep} = require('node:path')
  exports.seen = {argv, file: __filename, dir: __dirname, sameSep: path.sep === sep}
  return argv[0] === 'token'
}
`

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'onramp-boot-'))
  hotFile = path.join(dir, 'hot.cjs')
  writeFileSync(hotFile, HOT_WRAPPER.head + HOT_SOURCE + HOT_WRAPPER.tail) // as the build writes hot.cjs
  mkdirSync(path.join(dir, 'cache'), {mode: 0o700})
  cacheFile = path.join(dir, 'cache', 'v-test-token.bin')
})

afterEach(() => rmSync(dir, {recursive: true, force: true}))

/** A cache V8 takes, written the way bin/run.cjs writes one: after a successful run. */
async function writeGoodCache(): Promise<void> {
  const hot = loadHot(hotFile, require, cacheFile)
  await hot.module.runFast(['token'])
  hot.saveCache()
}

describe('loadHot', () => {
  it('runs the file as a CommonJS module with require, __filename, __dirname and a working import()', async () => {
    const hot = loadHot(hotFile, require, undefined)
    expect(await hot.module.runFast(['token'])).toBe(true)
    expect((hot.module as unknown as {seen: unknown}).seen).toEqual({argv: ['token'], file: hotFile, dir, sameSep: true})
    expect(hot.cache).toBe('none')
  })

  it('writes a private code cache after the run, which the next load hands to V8 and V8 accepts', async () => {
    const first = loadHot(hotFile, require, cacheFile)
    await first.module.runFast(['token'])
    first.saveCache()
    expect(statSync(cacheFile).mode & 0o777).toBe(0o600)
    const second = loadHot(hotFile, require, cacheFile)
    expect(second.cache).toBe('accepted')
    expect(await second.module.runFast(['token'])).toBe(true)
    // Accepted: nothing to write, the file stays as it was.
    const before = readFileSync(cacheFile)
    second.saveCache()
    expect(readFileSync(cacheFile).equals(before)).toBe(true)
  })

  it('replaces a cache V8 refuses (damaged, or from another build of the same length), and still runs', async () => {
    writeFileSync(cacheFile, Buffer.alloc(4096, 7), {mode: 0o600})
    const hot = loadHot(hotFile, require, cacheFile)
    expect(hot.cache).toBe('rejected')
    expect(await hot.module.runFast(['token'])).toBe(true)
    hot.saveCache()
    expect(loadHot(hotFile, require, cacheFile).cache).toBe('accepted')
  })

  it('neither reads nor writes a cache in a folder others can write', async () => {
    await writeGoodCache()
    chmodSync(path.dirname(cacheFile), 0o777)
    try {
      const hot = loadHot(hotFile, require, cacheFile)
      expect(hot.cache).toBe('none')
      rmSync(cacheFile)
      hot.saveCache()
      expect(readdirSync(path.dirname(cacheFile))).toEqual([])
    } finally {
      chmodSync(path.dirname(cacheFile), 0o700)
    }
  })

  it('does not read a cache file others can write', async () => {
    await writeGoodCache()
    chmodSync(cacheFile, 0o666)
    expect(loadHot(hotFile, require, cacheFile).cache).toBe('none')
  })
})

describe('codeCacheFile', () => {
  const env = {HOME: '/home/someone', XDG_CACHE_HOME: '/cache'}

  it('names one file per hot command, with the Node version, architecture and build', () => {
    expect(codeCacheFile('token', env)).toBe(path.join('/cache', 'onramp', 'code-cache', `${process.version}-${process.arch}-unbuilt-token.bin`))
    expect(codeCacheFile('--version', env)).toMatch(/-version\.bin$/)
    expect(codeCacheFile('status', env)).toMatch(/-status\.bin$/)
    expect(codeCacheFile('scopes', env)).toMatch(/-scopes\.bin$/)
  })

  it('has none for other commands, an own-property check only, and none when Node is told to cache nothing', () => {
    expect(codeCacheFile('login', env)).toBeUndefined()
    expect(codeCacheFile(undefined, env)).toBeUndefined()
    expect(codeCacheFile('toString', env)).toBeUndefined()
    expect(codeCacheFile('token', {...env, NODE_DISABLE_COMPILE_CACHE: '1'})).toBeUndefined()
  })
})

describe('staleCaches', () => {
  it('keeps this build and the two other builds written last, judged by the files alone', () => {
    const cacheDir = path.join(dir, 'cache')
    const write = (name: string, seconds: number) => {
      writeFileSync(path.join(cacheDir, name), 'x')
      utimesSync(path.join(cacheDir, name), seconds, seconds)
    }
    write('v22.1.0-x64-unbuilt-token.bin', 100) // this build (tests run the sources): never stale
    write('v22.1.0-x64-aaaa-token.bin', 10)
    write('v22.1.0-x64-aaaa-status.bin', 50)
    write('v22.1.0-x64-bbbb-token.bin', 40)
    write('v20.1.0-x64-cccc-token.bin', 30)
    write('v22.1.0-x64-dddd-version.bin', 20)
    write('notes.txt', 1)
    expect(staleCaches(cacheDir, 2).sort()).toEqual(['v20.1.0-x64-cccc-token.bin', 'v22.1.0-x64-dddd-version.bin'])
    expect(staleCaches(cacheDir, 0).sort()).toEqual(['v20.1.0-x64-cccc-token.bin', 'v22.1.0-x64-aaaa-status.bin', 'v22.1.0-x64-aaaa-token.bin', 'v22.1.0-x64-bbbb-token.bin', 'v22.1.0-x64-dddd-version.bin'])
  })
})
