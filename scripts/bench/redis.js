// The Redis store's rows (issue 21): `onramp token` on a fresh session in Redis against the file store
// (same run, interleaved with `node -e 0`), and the 64-process refresh storm on 4 "machines" (separate
// HOME and XDG folders) sharing one provisioning session through Redis. A real redis-server (Debian's)
// on a free loopback port in a temp folder, killed by support.js's cleanup.
//
// Part of `npm run bench` (scripts/bench.js calls measureRedis/renderRedis), or alone, which rewrites only
// the "## Redis store" section of BENCHMARKS.md:  npm run build && node scripts/bench/redis.js
//   BENCH_RUNS=n   start-up runs per case (default 15)
import {spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {baseEnv, bin, isolatedHome, median, redact, root, runCli, tempFolder, track, WIZARD_CLIENT_ID} from './support.js'

const STORM_MACHINES = 4
const STORM_PER_MACHINE = 16

/** Why the Redis rows cannot be measured here, or undefined. */
export function redisSkip() {
  return spawnSync('redis-server', ['--version'], {stdio: 'ignore'}).status === 0 ? undefined : 'redis-server is not installed'
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function startRedis() {
  const dir = tempFolder('onramp-bench-redis-')
  const port = await freePort()
  const child = track(spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no'], {cwd: dir, stdio: ['ignore', 'pipe', 'pipe']}))
  await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 20_000)
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => reject(new Error(`redis-server exited ${code}: ${out}`)))
  })
  return {url: `redis://127.0.0.1:${port}`, version: spawnSync('redis-server', ['--version'], {encoding: 'utf8'}).stdout.trim()}
}

/** A fleet machine: its own HOME, the shared Redis and key. */
function machine(mock, redis, key, prefix) {
  const {env} = isolatedHome('onramp-bench-redis-home-', 'redis')
  return {...env, ONRAMP_REDIS_URL: redis.url, ONRAMP_STORE_KEY: key, ONRAMP_REDIS_PREFIX: prefix, ONRAMP_HOST: mock.issuer, ONRAMP_CLIENT_ID: WIZARD_CLIENT_ID}
}

/** A fresh session in the file store and in Redis (copied with sessions export/import): no request on `token`. */
async function freshSessions(mock, redis, key) {
  const file = {...isolatedHome('onramp-bench-redis-file-', 'file').env, ONRAMP_HOST: mock.issuer, ONRAMP_CLIENT_ID: WIZARD_CLIENT_ID, ONRAMP_STORE_KEY: key}
  const signup = await runCli(['signup', '--non-interactive', '--email', `bench-${randomBytes(5).toString('hex')}@example.com`], file, {timeoutMs: 60_000})
  if (signup.code !== 0) throw new Error(`signup exited ${signup.code}: ${redact(signup.stderr)}`)
  const exported = await runCli(['sessions', 'export'], file)
  if (exported.code !== 0) throw new Error(`sessions export exited ${exported.code}: ${redact(exported.stderr)}`)
  const onRedis = machine(mock, redis, key, 'bench-startup:')
  const dir = path.join(onRedis.HOME, 'export')
  mkdirSync(dir, {recursive: true})
  writeFileSync(path.join(dir, 'session.json'), exported.stdout, {mode: 0o600})
  const imported = await runCli(['sessions', 'import', path.join(dir, 'session.json')], onRedis)
  if (imported.code !== 0) throw new Error(`sessions import exited ${imported.code}: ${redact(imported.stderr)}`)
  return {file, redis: onRedis}
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

function measureTokenStartup({file, redis, runs}) {
  const variants = [
    {name: '`node -e 0`', args: ['-e', '0'], env: baseEnv(), times: []},
    {name: '`node -e "require(\'ioredis\')"` (the client library alone)', args: ['-e', "require('ioredis')"], env: baseEnv(), times: []},
    {name: '`onramp token`, file store', args: [bin, 'token'], env: {...baseEnv(), ...file}, times: []},
    {name: '`onramp token`, Redis store (loopback redis-server)', args: [bin, 'token'], env: {...baseEnv(), ...redis}, times: []},
  ]
  const time = (variant) => {
    const started = process.hrtime.bigint()
    const result = spawnSync(process.execPath, variant.args, {env: variant.env, cwd: root, encoding: 'utf8', timeout: 30_000})
    variant.times.push(Number(process.hrtime.bigint() - started) / 1e6)
    if (result.status !== 0) throw new Error(`${variant.name} exited ${result.status}: ${redact(result.stderr)}`)
  }
  for (const variant of variants) time(variant) // warm-up, not counted
  for (const variant of variants) variant.times = []
  for (let round = 0; round < runs; round++) for (const variant of variants) time(variant)
  return variants.map(({name, times}) => ({name, median: median(times), p95: percentile(times, 95)}))
}

async function measureStorm(mock, redis, key) {
  const prefix = 'bench-storm:'
  const envs = Array.from({length: STORM_MACHINES}, () => machine(mock, redis, key, prefix))
  // The session's access token is inside `token`'s 60 s margin from the start; refreshed tokens live 3600 s.
  await mock.control('config', {access_token_ttl: 30})
  const signup = await runCli(['signup', '--non-interactive', '--email', `bench-${randomBytes(5).toString('hex')}@example.com`], envs[0], {timeoutMs: 60_000})
  await mock.control('config', {access_token_ttl: null})
  if (signup.code !== 0) throw new Error(`signup exited ${signup.code}: ${redact(signup.stderr)}`)
  const count = async () => (await mock.state()).counters.provisioning.token_requests.refresh_token ?? 0
  const before = await count()
  const started = process.hrtime.bigint()
  const runs = await Promise.all(envs.flatMap((env) => Array.from({length: STORM_PER_MACHINE}, () => runCli(['token'], env, {timeoutMs: 600_000}))))
  const wall = Number(process.hrtime.bigint() - started) / 1e6
  const failed = runs.filter((run) => run.code !== 0)
  // The same processes again with the token fresh: N start-ups and Redis reads without a refresh.
  const calmStarted = process.hrtime.bigint()
  const calm = await Promise.all(envs.flatMap((env) => Array.from({length: STORM_PER_MACHINE}, () => runCli(['token'], env, {timeoutMs: 600_000}))))
  const calmWall = Number(process.hrtime.bigint() - calmStarted) / 1e6
  return {
    processes: runs.length,
    refreshes: (await count()) - before,
    failures: failed.length,
    failure: failed[0] ? `exit ${failed[0].code}: ${redact(failed[0].stderr).split('\n')[0]}` : undefined,
    distinctTokens: new Set(runs.filter((run) => run.code === 0).map((run) => run.stdout.trim())).size,
    wall,
    slowest: Math.max(...runs.map((run) => run.ms)),
    calmWall,
    calmFailures: calm.filter((run) => run.code !== 0).length,
  }
}

/** Both measurements (redisSkip() says when they cannot be made). */
export async function measureRedis(mock, {runs = 15} = {}) {
  const redis = await startRedis()
  const key = randomBytes(32).toString('base64')
  const sessions = await freshSessions(mock, redis, key)
  const startup = measureTokenStartup({file: sessions.file, redis: sessions.redis, runs})
  const storm = await measureStorm(mock, redis, key)
  return {redisVersion: redis.version, runs, startup, storm}
}

/** The section's introduction (scripts/bench.js prints it under "## Redis store"). */
export const REDIS_INTRO = `A real redis-server (Debian's) on a free loopback port in a temp folder, started by
\`scripts/bench/redis.js\` (part of \`npm run bench\`, or alone: \`node scripts/bench/redis.js\` rewrites only this
section). First \`onramp token\` on a fresh stored session (no refresh, no HTTP request): the file store against the
Redis store (\`ONRAMP_STORAGE=redis\`: ioredis loaded, one connection, the key check and the sealed session read in
one MULTI, AES-256-GCM open), interleaved round by round with \`node -e 0\`; the same session in both stores
(\`onramp sessions export\` from the file store, \`onramp sessions import\` into Redis). Then the refresh storm:
${STORM_MACHINES * STORM_PER_MACHINE} \`onramp token\` processes started at once, ${STORM_PER_MACHINE} on each of ${STORM_MACHINES} "machines" (separate HOME and XDG
folders: no lock file shared), one signup (provisioning) session in Redis whose access token expires within the
60 s margin (the mock issued it with \`access_token_ttl: 30\`, then 3600 s tokens again). Refreshes are
\`counters.provisioning.token_requests.refresh_token\` (no grace period: a second refresh of the same token would
fail); the last column runs the same processes again with the token fresh.`

export function renderRedis(result) {
  const ms = (value) => `${Math.round(value)} ms`
  const base = result.startup[0].median
  const rows = result.startup.map((row) => `| ${row.name} | ${ms(row.median)} | ${ms(row.p95)} | ${(row.median / base).toFixed(2)}x |`)
  const storm = result.storm
  const ok = storm.refreshes === 1 && storm.failures === 0 && storm.distinctTokens === 1
  return `${result.redisVersion.split(' ').slice(0, 3).join(' ')}; ${result.runs} rounds.

| command | median | p95 | vs \`node -e 0\` |
|---|---|---|---|
${rows.join('\n')}

Most of what Redis adds is loading ioredis (the second row, against \`node -e 0\`); the rest is one TCP connection
and one MULTI round trip on loopback, and the AES-256-GCM open. Only \`ONRAMP_STORAGE=redis\` loads it.

| storm | processes | refreshes seen by the mock | failures | distinct tokens | wall time | slowest process | same N, token fresh |
|---|---|---|---|---|---|---|---|
| Redis store, ${STORM_MACHINES} machines | ${storm.processes} | **${storm.refreshes}**${ok ? '' : ' (expected 1)'} | ${storm.failures}${storm.failure ? ` (${storm.failure})` : ''} | ${storm.distinctTokens} | ${(storm.wall / 1000).toFixed(2)} s | ${(storm.slowest / 1000).toFixed(2)} s | ${(storm.calmWall / 1000).toFixed(2)} s${storm.calmFailures ? ` (${storm.calmFailures} failures)` : ''} |`
}

// Alone: measure, then replace (or add) the "## Redis store" section of BENCHMARKS.md.
if (import.meta.url === `file://${process.argv[1]}`) {
  const {startMock} = await import('./mock.js')
  const {finish, WIZARD_CEILING} = await import('./support.js')
  let section
  try {
    const mock = await startMock()
    await mock.control('apps', {client_id: WIZARD_CLIENT_ID, scopes: WIZARD_CEILING})
    await mock.control('config', {latency_ms: 0, access_token_ttl: null, rate_limit: false})
    const load = os.loadavg().map((value) => value.toFixed(1)).join(' ')
    const skipped = redisSkip()
    const body = skipped ? `Not measured in this run: ${skipped}.` : renderRedis(await measureRedis(mock, {runs: Math.max(15, Number(process.env.BENCH_RUNS ?? 15))}))
    section = `## Redis store\n\n${REDIS_INTRO}\n\nLoad average (1/5/15 min) when this section began: ${load}.\n\n${body}\n`
  } finally {
    await finish()
  }
  console.log(section)
  const file = path.join(root, 'BENCHMARKS.md')
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n'
  const start = current.indexOf('\n## Redis store\n')
  const rest = start === -1 ? -1 : current.indexOf('\n## ', start + 1)
  const next = start === -1 ? `${current.trimEnd()}\n\n${section}` : `${current.slice(0, start + 1)}${section}${rest === -1 ? '' : current.slice(rest)}`
  if (!process.env.BENCH_NO_WRITE) writeFileSync(file, next)
}
