// `npm run bench`: start-up of the commands scripts call most, on the built binary, side by side with
// `node -e 0` in the same run (ratios, so a loaded or slow machine still gives comparable numbers), and
// the production install size. Prints the report and writes it to BENCHMARKS.md.
//   BENCH_RUNS=n            runs per case (default 20, at least 15)
//   BENCH_SKIP_INSTALL=1    skip the production install (npm pack + npm install --omit=dev: needs the registry)
//   BENCH_NO_WRITE=1        print only, leave BENCHMARKS.md alone
//   BENCH_KEYCHAIN=0        never touch the OS keychain (otherwise the keychain case runs once the backend exists)
// Each case runs twice: the default binary (fast path for the hot commands) and ONRAMP_NO_FAST_PATH=1
// (the oclif path, i.e. what these commands cost before the fast path). Rounds interleave every variant
// with `node -e 0`, so load from other processes is shared fairly between them.
import {execFileSync, spawnSync} from 'node:child_process'
import {lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

const runs = Math.max(15, Number(process.env.BENCH_RUNS ?? 20))
const root = path.resolve(import.meta.dirname, '..')
const bin = path.join(root, 'bin', 'run.js')
const home = mkdtempSync(path.join(os.tmpdir(), 'onramp-bench-'))
const config = path.join(home, '.config', 'onramp')
mkdirSync(config, {recursive: true, mode: 0o700})

const issuer = 'https://us.posthog.com'
const clientId = 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM'
/** A stored session that stays fresh: `onramp token` answers from the store without any request. */
const benchSession = (overrides = {}) => ({
  issuer, client_id: clientId, region: 'us', access_token: `pha_${'b'.repeat(44)}`, refresh_token: `phr_${'b'.repeat(44)}`,
  expires_at: new Date(Date.now() + 86_400_000).toISOString(), scope: ['user:read'], user: {email: 'bench@example.com'},
  obtained_at: new Date().toISOString(), ...overrides,
})
writeFileSync(path.join(config, 'credentials.json'), JSON.stringify({version: 1, sessions: {[`${issuer}#${clientId}`]: benchSession()}}), {mode: 0o600})

const env = {
  ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CACHE_HOME: path.join(home, '.cache'),
  XDG_STATE_HOME: path.join(home, '.state'), XDG_DATA_HOME: path.join(home, '.local', 'share'), ONRAMP_STORAGE: 'file',
}
for (const name of ['NODE_ENV', 'ONRAMP_TOKEN', 'ONRAMP_HOST', 'ONRAMP_REGION', 'ONRAMP_CLIENT_ID', 'ONRAMP_NO_FAST_PATH', 'DEBUG']) delete env[name]

const cases = [
  {name: 'onramp --version', args: ['--version'], target: 2.0},
  {name: 'onramp token (file store, stored session)', args: ['token'], target: 1.5},
  {name: 'onramp token (ONRAMP_TOKEN)', args: ['token'], extra: {ONRAMP_TOKEN: 'pha_fromenv'}, target: 1.5},
  {name: 'onramp status --json', args: ['status', '--json'], target: 2.0},
  {name: 'onramp scopes --json', args: ['scopes', '--json'], target: 2.0},
]

const keychain = await keychainCase()
if (keychain.case) cases.push(keychain.case)

const baseline = {name: '`node -e 0`', command: [process.execPath, ['-e', '0']], env, times: []}
const variants = [baseline]
for (const item of cases) {
  const caseEnv = {...env, ...item.extra}
  item.fast = {command: [process.execPath, [bin, ...item.args]], env: caseEnv, times: []}
  item.oclif = {command: [process.execPath, [bin, ...item.args]], env: {...caseEnv, ONRAMP_NO_FAST_PATH: '1'}, times: []}
  variants.push(item.fast, item.oclif)
}

const time = (variant) => {
  const [file, args] = variant.command
  const started = process.hrtime.bigint()
  const result = spawnSync(file, args, {env: variant.env, encoding: 'utf8', cwd: root})
  variant.times.push(Number(process.hrtime.bigint() - started) / 1e6)
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`)
}

try {
  for (const variant of variants) time(variant) // warm the file cache; not counted
  for (const variant of variants) variant.times = []
  for (let round = 0; round < runs; round++) {
    for (const variant of shuffled(variants)) time(variant)
  }
} finally {
  await keychain.cleanup?.()
  rmSync(home, {recursive: true, force: true})
}

const stats = (times) => {
  const sorted = [...times].sort((a, b) => a - b)
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]
  return {median: median(sorted), p95: at(0.95)}
}
const node = stats(baseline.times)
const ratio = (ms) => `${(ms / node.median).toFixed(2)}x`
const rows = [
  `| command | median ms | p95 ms | median / node | target | oclif path: median ms | oclif path / node |`,
  `|---|---|---|---|---|---|---|`,
  `| ${baseline.name} | ${node.median.toFixed(0)} | ${node.p95.toFixed(0)} | 1.00x | | | |`,
]
for (const item of cases) {
  const fast = stats(item.fast.times)
  const oclif = stats(item.oclif.times)
  const met = fast.median / node.median <= item.target ? 'met' : 'NOT met'
  rows.push(
    `| \`${item.name}\` | ${fast.median.toFixed(0)} | ${fast.p95.toFixed(0)} | **${ratio(fast.median)}** | <= ${item.target.toFixed(1)}x (${met}) | ${oclif.median.toFixed(0)} | ${ratio(oclif.median)} |`,
  )
}

const install = process.env.BENCH_SKIP_INSTALL ? {skipped: 'skipped (BENCH_SKIP_INSTALL=1)'} : measureInstall()

const cpus = os.cpus()
const machine = `${cpus.length} cores, ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`
const load = os.loadavg().map((value) => value.toFixed(1)).join(' ')
const command = `${process.env.BENCH_RUNS ? `BENCH_RUNS=${process.env.BENCH_RUNS} ` : ''}npm run bench`
const report = `# Benchmarks

Written by \`npm run bench\` (scripts/bench.js); numbers from one run on one machine.

- Command: \`${command}\` (build, then ${runs} timed runs of every variant, interleaved round by round with \`node -e 0\`)
- Machine: ${machine}; load average at the end: ${load}
- Node ${process.version}; ${new Date().toISOString().slice(0, 10)}

## Start-up

Wall time from spawn to exit of the built binary, median and 95th percentile. The ratio to \`node -e 0\`
measured in the same run is the number to compare across machines. No network: the stored session is fresh,
so \`onramp token\` answers from the file store. "oclif path" is the same command with \`ONRAMP_NO_FAST_PATH=1\`:
what it cost before the fast path (src/fast/), which answers \`token\`, \`status\`, \`scopes\` (without
\`--check\`) and \`--version\` without loading @oclif/core.

${rows.join('\n')}

### Keychain token

${keychain.note}

## Refresh storms

Not measured yet: 16 keychain / 32 file processes calling \`onramp token\` on an expiring session against the
mock; refresh requests seen by the mock, failures, wall time against a single refresh.

## HTTP requests per login and signup

Not measured yet: requests to the server per \`onramp login\` and per \`onramp signup\`, first run and with
metadata cached (target: login at most 2 requests once metadata is cached).

## Production install

${renderInstall(install)}
`

console.log(report)
if (!process.env.BENCH_NO_WRITE) writeFileSync(path.join(root, 'BENCHMARKS.md'), report)

function median(sorted) {
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

function shuffled(items) {
  const copy = [...items]
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1))
    ;[copy[index], copy[other]] = [copy[other], copy[index]]
  }
  return copy
}

/**
 * `onramp token` from the OS keychain, once src/session/store.ts has a keychain backend: a bench session is
 * saved under its own issuer (never touching the user's sessions), measured, and deleted afterwards.
 */
async function keychainCase() {
  if (process.env.BENCH_KEYCHAIN === '0') return {note: 'Not measured: BENCH_KEYCHAIN=0.'}
  const {openKeychainStore} = await import(pathToFileURL(path.join(root, 'dist', 'session', 'store.js')).href)
  if (!openKeychainStore) return {note: 'Not measured yet: the keychain backend is not built into this version (target: `onramp token` <= 2.0x `node -e 0`).'}
  const {resolvePaths} = await import(pathToFileURL(path.join(root, 'dist', 'paths.js')).href)
  const keychainEnv = {...env, ONRAMP_STORAGE: 'keychain'}
  const opened = await openKeychainStore({env: keychainEnv, paths: resolvePaths(keychainEnv)})
  if (!opened.ok) return {note: `Not measured: the OS keychain is unavailable here (${opened.reason}).`}
  const benchIssuer = 'https://onramp-bench.invalid'
  const session = benchSession({issuer: benchIssuer, region: null, client_id: 'onramp-bench'})
  await opened.store.save(session)
  return {
    note: 'Measured in the table above (`onramp token (keychain ...)`).',
    case: {name: 'onramp token (keychain, stored session)', args: ['token', '--host', benchIssuer, '--client-id', 'onramp-bench'], extra: {ONRAMP_STORAGE: 'keychain'}, target: 2.0},
    cleanup: () => opened.store.delete({issuer: benchIssuer, client_id: 'onramp-bench'}),
  }
}

/** `npm pack`, then the tarball installed with `--omit=dev` into an empty folder: what a user downloads. */
function measureInstall() {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'onramp-install-'))
  try {
    const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
    const tarball = JSON.parse(npm(['pack', '--json', '--pack-destination', folder], root))[0].filename
    const app = path.join(folder, 'app')
    mkdirSync(app)
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({name: 'onramp-install-probe', version: '0.0.0', private: true}))
    npm(['install', '--omit=dev', path.join(folder, tarball)], app)
    const modules = path.join(app, 'node_modules')
    const packages = listPackages(modules)
    const weights = packages.map((dir) => ({name: path.relative(modules, dir).replaceAll(`node_modules${path.sep}`, ''), bytes: diskUsage(dir, packages)}))
    weights.sort((a, b) => b.bytes - a.bytes)
    return {total: diskUsage(modules), count: packages.length, weights, tarball}
  } catch (error) {
    return {skipped: `not measured: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`}
  } finally {
    rmSync(folder, {recursive: true, force: true})
  }
}

/** Every installed package folder (nested ones too), onramp itself included. */
function listPackages(modules) {
  const found = []
  for (const entry of readdirSync(modules, {withFileTypes: true})) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue
    const dirs = entry.name.startsWith('@')
      ? readdirSync(path.join(modules, entry.name), {withFileTypes: true}).filter((inner) => inner.isDirectory()).map((inner) => path.join(modules, entry.name, inner.name))
      : [path.join(modules, entry.name)]
    for (const dir of dirs) {
      found.push(dir)
      try {
        found.push(...listPackages(path.join(dir, 'node_modules')))
      } catch {
        // no nested node_modules
      }
    }
  }
  return found
}

/** Allocated bytes under dir (as `du` counts), skipping nested package folders listed in `exclude`. */
function diskUsage(dir, exclude = []) {
  const skip = new Set(exclude.filter((other) => other !== dir))
  let bytes = 0
  const walk = (current) => {
    for (const entry of readdirSync(current, {withFileTypes: true})) {
      const full = path.join(current, entry.name)
      if (skip.has(full)) continue
      if (entry.isDirectory()) walk(full)
      else bytes += lstatBlocks(full)
    }
  }
  walk(dir)
  return bytes
}

function lstatBlocks(file) {
  return lstatSync(file).blocks * 512
}

function renderInstall(install) {
  if (install.skipped) return `Not measured in this run: ${install.skipped}. Target: <= 12 MB (was 14 MB / 78 packages).`
  const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`
  const top = install.weights.slice(0, 12).map(({name, bytes}) => `| ${name} | ${mb(bytes)} |`)
  return `\`npm pack\` (${install.tarball}), installed with \`npm install --omit=dev\` into an empty folder:
**${mb(install.total)}** in node_modules (allocated blocks, as \`du\` counts), **${install.count} packages** (onramp included). Target: <= 12 MB.

Heaviest packages (own files, nested packages counted separately):

| package | size |
|---|---|
${top.join('\n')}`
}
