import fs from 'node:fs'
import path from 'node:path'
import vm from 'node:vm'

import {trustProblem} from '../fs-private.js'
import {resolvePaths} from '../paths.js'
import {endIfKeychainStuck} from '../session/keychain/stuck-exit.js'

/**
 * What bin/run.cjs runs: the fast path (dist/fast/hot.cjs) for the hot commands, oclif for everything else
 * and every doubt. Built by scripts/build.js into dist/fast/boot.cjs, with HOT_ID (a hash of hot.cjs's
 * text) written in.
 *
 * Why not `require('./hot.cjs')`: Node's module compile cache keeps only the code V8 compiles before a
 * module runs, and V8 compiles a function when it is first called, so every `onramp token` compiled again
 * the few hundred functions it runs (about 5 ms of it). Here hot.cjs is compiled through node:vm with a
 * code cache made after a successful run of that command (`script.createCachedData()` then holds every
 * function the run compiled), one file per command in `<XDG cache>/onramp/code-cache/`. The cache is
 * code: it lives in a private folder (judged by src/fs-private.ts, as onramp's other folders are), its name carries Node's
 * version and the hash of the exact hot.cjs it was made from (V8 itself checks only the source's length),
 * and V8 refuses one from another V8 build or other flags, which is then replaced. Any problem with the
 * cache (missing, foreign, unreadable, refused) costs only its speed.
 */
declare const __ONRAMP_HOT_ID__: string

const HOT_ID = typeof __ONRAMP_HOT_ID__ === 'string' ? __ONRAMP_HOT_ID__ : 'unbuilt'
/** The commands the fast path answers, by their first argument: one cache file each. */
const CACHED_COMMANDS: Readonly<Record<string, string>> = {token: 'token', status: 'status', scopes: 'scopes', '--version': 'version'}

interface HotModule {
  runFast(argv: readonly string[]): Promise<boolean>
}

export interface Entry {
  /** bin/run.cjs: oclif finds the package from it, and hot.cjs is dist/fast/hot.cjs beside it. */
  binFile: string
  /** The bin's require: hot.cjs's packages resolve from the package as they would from dist/fast/. */
  require: NodeJS.Require
}

/** Runs the CLI with `argv` (the arguments after the bin). */
export async function main({binFile, require}: Entry, argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!env.ONRAMP_NO_FAST_PATH) {
    const hotFile = path.join(path.dirname(binFile), '..', 'dist', 'fast', 'hot.cjs')
    const hot = loadHot(hotFile, require, codeCacheFile(argv[0], env))
    if (await hot.module.runFast(argv)) {
      if (!process.exitCode) hot.saveCache()
      return endIfKeychainStuck()
    }
  }
  await enableCompileCache(env)
  const {execute} = await import('@oclif/core')
  await execute({dir: binFile})
  // A keychain call past its deadline may still hold the thread pool, which Node would wait for.
  await endIfKeychainStuck()
}

/** `<XDG cache>/onramp/code-cache/<node>-<arch>-<hot hash>-<command>.bin`, or undefined (not a hot command; NODE_DISABLE_COMPILE_CACHE). */
export function codeCacheFile(first: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const command = first !== undefined && Object.hasOwn(CACHED_COMMANDS, first) ? CACHED_COMMANDS[first] : undefined
  if (!command || env.NODE_DISABLE_COMPILE_CACHE) return undefined
  return path.join(codeCacheDir(env), `${process.version}-${process.arch}-${HOT_ID}-${command}.bin`)
}

function codeCacheDir(env: NodeJS.ProcessEnv): string {
  return path.join(resolvePaths(env).cache, 'code-cache')
}

/**
 * The function hot.cjs runs in: CommonJS's module wrapper plus `__onramp_import`. scripts/build.js writes
 * hot.cjs inside it (the file is then one function expression, run only by this loader).
 */
export const HOT_WRAPPER = {head: '(function (exports, require, module, __filename, __dirname, __onramp_import) {', tail: '\n})'} as const

export interface LoadedHot {
  module: HotModule
  /** What became of the code cache: none read (missing, not ours, off), accepted by V8, or refused. */
  cache: 'none' | 'accepted' | 'rejected'
  /** Writes a code cache holding what has been compiled so far, when none was accepted. */
  saveCache: () => void
}

/**
 * hot.cjs, which the build writes inside HOT_WRAPPER (joining 200 KB of text to it here cost a copy and a
 * fifth of a millisecond at every start), run as CommonJS through vm.Script with the code cache at
 * `cacheFile` when it is ours and V8 takes it. `__onramp_import` is this file's import(), which the build put
 * in place of hot.cjs's own: import() inside node:vm code needs an experimental switch.
 * `saveCache()` writes a new cache when there was none or V8 refused it.
 */
export function loadHot(hotFile: string, require: NodeJS.Require, cacheFile: string | undefined): LoadedHot {
  const cached = cacheFile ? readCache(cacheFile) : undefined
  const script = new vm.Script(fs.readFileSync(hotFile, 'utf8'), {filename: hotFile, cachedData: cached})
  const module = {exports: {} as HotModule}
  const hostImport = (specifier: string): Promise<unknown> => import(specifier)
  ;(script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, require, module, hotFile, path.dirname(hotFile), hostImport)
  return {
    module: module.exports,
    cache: cached === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted',
    saveCache: () => {
      if (cacheFile && (!cached || script.cachedDataRejected)) writeCache(cacheFile, script)
    },
  }
}

/** The cache file when it and its folder are ours alone (src/fs-private.ts); else nothing, silently. */
function readCache(file: string): Buffer | undefined {
  try {
    if (!trusted(path.dirname(file), 'folder') || !trusted(file, 'file')) return undefined
    return fs.readFileSync(file)
  } catch {
    return undefined
  }
}

function trusted(target: string, kind: 'folder' | 'file'): boolean {
  const stat = fs.lstatSync(target, {throwIfNoEntry: false})
  return stat !== undefined && trustProblem(stat, kind) === undefined
}

/** `dir`, made 0700 where missing, when it is ours alone (src/fs-private.ts). */
function privateFolder(dir: string): boolean {
  fs.mkdirSync(dir, {recursive: true, mode: 0o700})
  return trusted(dir, 'folder')
}

/**
 * Written whole under a temporary name and renamed, so a run starting meanwhile reads the old file or the
 * new one. Then caches of older onramp builds go: those of the two builds written most recently besides
 * this one stay (a global onramp and a project's own, used in turn, must not delete each other's at every
 * run); "recently" compares the files' times with each other, never with this process's clock.
 */
function writeCache(file: string, script: vm.Script): void {
  const dir = path.dirname(file)
  const temporary = `${file}.${process.pid}.tmp`
  try {
    if (!privateFolder(dir)) return
    fs.writeFileSync(temporary, script.createCachedData(), {mode: 0o600, flag: 'wx'})
    fs.renameSync(temporary, file)
    for (const stale of staleCaches(dir, KEPT_OTHER_BUILDS)) fs.rmSync(path.join(dir, stale), {force: true})
  } catch {
    fs.rmSync(temporary, {force: true})
  }
}

const KEPT_OTHER_BUILDS = 2

/** The cache files in `dir` of builds other than this one and the `keep` other builds with the newest files. */
export function staleCaches(dir: string, keep: number): string[] {
  const newest = new Map<string, number>()
  const files: Array<{name: string; build: string}> = []
  for (const name of fs.readdirSync(dir)) {
    const build = /^v[\d.]+-[^-]+-([0-9a-z]+)-[a-z]+\.bin$/.exec(name)?.[1]
    if (!build || build === HOT_ID) continue
    files.push({name, build})
    const mtime = fs.statSync(path.join(dir, name)).mtimeMs
    newest.set(build, Math.max(newest.get(build) ?? 0, mtime))
  }
  const kept = new Set([...newest].sort((a, b) => b[1] - a[1]).slice(0, keep).map(([build]) => build))
  return files.filter((file) => !kept.has(file.build)).map((file) => file.name)
}

/**
 * Node's module compile cache (Node >= 22.1) for the oclif path, in `<XDG cache>/onramp/compile-cache`:
 * later runs skip most parsing and compiling of onramp and its dependencies. The folder must be private
 * like every onramp folder; when it is not, or cannot be made, onramp runs without the cache and says
 * nothing. Node's own switches win: NODE_DISABLE_COMPILE_CACHE=1 turns it off, NODE_COMPILE_CACHE=<dir>
 * has already enabled it elsewhere. Returns the folder in use, or undefined.
 */
export async function enableCompileCache(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const {default: module} = await import('node:module')
  const enable = (module as {enableCompileCache?: (dir: string) => {status: number; directory?: string}}).enableCompileCache
  if (!enable || env.NODE_DISABLE_COMPILE_CACHE || env.NODE_COMPILE_CACHE) return undefined
  try {
    const {cache} = resolvePaths(env)
    if (!privateFolder(cache)) return undefined
    return enable(path.join(cache, 'compile-cache')).directory
  } catch {
    return undefined
  }
}
