// Build = clean compile + a fresh oclif manifest (a stale manifest hides new commands) + the hot path as
// one file: dist/fast/hot.cjs, src/fast/run.ts with everything it can reach bundled, which bin/run.js
// loads for token, status, scopes and --version instead of some 30 modules (module loading was most of
// their start-up). CommonJS, so a module reached only through import() is initialised only then, and its
// `require`s (openid-client's code, node:net, node:crypto) run only then: an ES module bundle would hoist
// them to the top. Packages loaded with import() (undici, open, @inquirer/prompts, the keychain addon, ioredis)
// stay outside; openid-client and its two dependencies are inside (ES modules only: a CommonJS file
// could not require them on every Node we support), and so is is-wsl (--version: three small ES modules
// cost more to load than to bundle). The check below fails the build if the file would
// load anything else at start.
import {execFileSync} from 'node:child_process'
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import * as esbuild from 'esbuild'

const run = (cmd, args) => execFileSync(cmd, args, {stdio: 'inherit'})
rmSync('dist', {recursive: true, force: true})
rmSync('oclif.manifest.json', {force: true})
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'])
execFileSync(process.execPath, ['node_modules/oclif/bin/run.js', 'manifest'], {stdio: 'inherit', env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true'}})

export const HOT_PATH_FILE = 'dist/fast/hot.cjs'
/** Loaded by import() from the bundle, on use: never bundled, never loaded at start. */
const LAZY_PACKAGES = ['undici', 'open', '@inquirer/prompts', '@napi-rs/keyring', '@oclif/core', 'fastest-levenshtein', 'ioredis']
/**
 * CommonJS packages the code loads with import(): in the bundle they are require()d where that import()
 * was (still on use only), so Node does not run its CommonJS export scanner over them (for the keychain
 * addon's loader that scan cost more than loading it).
 */
const REQUIRE_INSTEAD_OF_IMPORT = ['@napi-rs/keyring', 'undici', 'ioredis']
const requireInsteadOfImport = {
  name: 'require-instead-of-import',
  setup(build) {
    const filter = new RegExp(`^(${REQUIRE_INSTEAD_OF_IMPORT.map((name) => name.replace(/[/.]/g, '\\$&')).join('|')})$`)
    build.onResolve({filter}, (args) => (args.kind === 'dynamic-import' ? {path: args.path, namespace: 'require-instead-of-import'} : {path: args.path, external: true}))
    build.onLoad({filter: /.*/, namespace: 'require-instead-of-import'}, (args) => ({contents: `module.exports = require(${JSON.stringify(args.path)})`, loader: 'js', resolveDir: process.cwd()}))
  },
}
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: LAZY_PACKAGES,
  // import.meta.url (package.json next to dist/, createRequire) as the bundle's own file URL.
  define: {'import.meta.url': '__onramp_module_url'},
  banner: {js: '"use strict";\nconst __onramp_module_url = require("node:url").pathToFileURL(__filename).href;'},
  plugins: [requireInsteadOfImport],
  logLevel: 'warning',
}
/**
 * esbuild's __toESM, which every `import fs from 'node:fs'` of a bundled module goes through, copies each of
 * the built-in's properties onto a new object as a getter (Object.defineProperty, a closure each): 33 times
 * in the hot file, some 3 ms of an `onramp token`. This one gives the same reads (the module's properties
 * through the prototype, live, and `default` as esbuild sets it) for the cost of one Object.create.
 */
const TO_ESM = /^var __toESM = \(mod, isNodeMode, target\) => \(target = mod != null \? __create\(__getProtoOf\(mod\)\) : \{\}, __copyProps\(\n(?: {2}\/\/[^\n]*\n)* {2}isNodeMode \|\| !mod \|\| !mod\.__esModule \? __defProp\(target, "default", \{ value: mod, enumerable: true \}\) : target,\n {2}mod\n\)\);$/m
const CHEAP_TO_ESM = 'var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(mod) : {}, isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target);'
async function bundle(entry, outfile) {
  const [output] = (await esbuild.build({...common, entryPoints: [entry], outfile, write: false})).outputFiles
  const text = output.text
  if (text.includes('__toESM(') && !TO_ESM.test(text)) throw new Error(`${outfile}: esbuild's __toESM helper changed; update TO_ESM in scripts/build.js`)
  mkdirSync(path.dirname(outfile), {recursive: true})
  writeFileSync(outfile, text.replace(TO_ESM, () => CHEAP_TO_ESM))
}
await bundle('src/fast/run.ts', HOT_PATH_FILE)
// The compile cache is switched on before anything else loads (bin/run.js), so it is a file of its own.
await bundle('src/fast/compile-cache.ts', 'dist/fast/compile-cache.cjs')

// What the bundles load before anything runs: their top-level requires. Only cheap built-ins.
const atStart = [HOT_PATH_FILE, 'dist/fast/compile-cache.cjs'].flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/^(?:var|const) [^\n]*require\("([^"]+)"\)/gm)].map((match) => match[1]))
const allowed = new Set(['node:url', 'node:fs', 'node:os', 'node:path', 'node:module'])
const unexpected = atStart.filter((name) => !allowed.has(name))
if (unexpected.length > 0) throw new Error(`${HOT_PATH_FILE} would load ${unexpected.join(', ')} at start: load it with import() where it is used`)
