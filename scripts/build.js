// Build = clean compile + a fresh oclif manifest (a stale manifest hides new commands) + the hot path as
// one file: dist/fast/hot.cjs, src/fast/run.ts with everything it can reach bundled, which bin/run.cjs
// loads (through dist/fast/boot.cjs, src/fast/boot.ts: a code cache per command) for token, status,
// scopes and --version instead of some 30 modules (module loading was most of their start-up). CommonJS, so a module reached only through import() is initialised only then, and its
// `require`s (openid-client's code, node:net, node:crypto) run only then: an ES module bundle would hoist
// them to the top. Packages loaded with import() (undici, open, @inquirer/prompts, the keychain addon, ioredis)
// stay outside; openid-client and its two dependencies are inside (ES modules only: a CommonJS file
// could not require them on every Node we support), and so is is-wsl (--version: three small ES modules
// cost more to load than to bundle). bundle() below fails the build if a file would load anything else
// at start.
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

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
  // import.meta.url as the bundle's own file URL, worked out on first use (pathToFileURL is a third of a millisecond).
  define: {'import.meta.url': '__onramp_meta.url'},
  banner: {js: '"use strict";\nconst __onramp_meta = {get url() { return require("node:url").pathToFileURL(__filename).href }};'},
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
/** What a bundle may load before anything runs (its top-level requires): only cheap built-ins. */
const AT_START = new Set(['node:url', 'node:fs', 'node:path', 'node:vm'])
/**
 * One bundle: esbuild's output with the cheap __toESM, its top-level requires checked, then whitespace and
 * syntax minified (names kept, for stack traces): a quarter less text for Node to read at every start, and
 * ASCII only, as V8 keeps a source with one other character (a `…` in a comment) as two-byte text, twice the
 * bytes to read and hash. Returns the text written.
 */
async function bundle(entry, outfile, {define = {}, hostImport = false, wrapper} = {}) {
  const [output] = (await esbuild.build({...common, define: {...common.define, ...define}, entryPoints: [entry], outfile, write: false})).outputFiles
  const text = hostImport ? viaHostImport(output.text, outfile) : output.text
  if (text.includes('__toESM(') && !TO_ESM.test(text)) throw new Error(`${outfile}: esbuild's __toESM helper changed; update TO_ESM in scripts/build.js`)
  const atStart = [...text.matchAll(/^(?:var|const) [^\n]*require\("([^"]+)"\)/gm)].map((match) => match[1]).filter((name) => !AT_START.has(name))
  if (atStart.length > 0) throw new Error(`${outfile} would load ${atStart.join(', ')} at start: load it with import() where it is used`)
  const {code} = await esbuild.transform(text.replace(TO_ESM, () => CHEAP_TO_ESM), {minifyWhitespace: true, minifySyntax: true, charset: 'ascii', legalComments: 'inline'})
  const foreign = /[^\t\n\r\x20-\x7e]/.exec(code)
  if (foreign) throw new Error(`${outfile}: a character other than printable ASCII (${JSON.stringify(foreign[0])}) survived minifying; escape it in the source`)
  const written = wrapper ? wrapper.head + code + wrapper.tail : code
  mkdirSync(path.dirname(outfile), {recursive: true})
  writeFileSync(outfile, written)
  return written
}

/**
 * hot.cjs runs through node:vm (src/fast/boot.ts), where a bare import() needs an experimental loader switch
 * that prints a warning on every Node: its import() calls go to `__onramp_import`, the loader's own import()
 * (same folder, same resolution), handed in as a parameter of the module wrapper.
 */
function viaHostImport(text, outfile) {
  const rewritten = text.replace(/(?<![.\w$])import\((?=")/g, '__onramp_import(')
  if (/(?<![.\w$])import\s*\(/.test(rewritten)) throw new Error(`${outfile}: an import() the build did not rewrite (only import("literal") is): see viaHostImport in scripts/build.js`)
  return rewritten
}

// What the fast path needs of package.json (name, version, the oclif section it checks for features it
// does not reproduce), written in: reading and parsing the file cost more than the rest of `--version`.
const pjson = JSON.parse(readFileSync('package.json', 'utf8'))
// hot.cjs is written inside the loader's module wrapper (HOT_WRAPPER, from tsc's output of src/fast/boot.ts).
const {HOT_WRAPPER} = await import(pathToFileURL(path.resolve('dist/fast/boot.js')).href)
const hot = await bundle('src/fast/run.ts', HOT_PATH_FILE, {hostImport: true, wrapper: HOT_WRAPPER, define: {__ONRAMP_PACKAGE__: JSON.stringify({name: pjson.name, version: pjson.version, oclif: pjson.oclif})}})
// The loader bin/run.cjs calls: it names its code caches after the exact hot.cjs they were made from.
await bundle('src/fast/boot.ts', 'dist/fast/boot.cjs', {define: {__ONRAMP_HOT_ID__: JSON.stringify(createHash('sha256').update(hot).digest('hex').slice(0, 16))}})
