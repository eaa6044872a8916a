// `npm run bench`: measures the built binary and writes BENCHMARKS.md (issue 12 item 3):
//   1. start-up of the hot commands against `node -e 0` in the same run (ratios), file store and keychain;
//   2. HTTP requests per `login` and per `signup` against the served mock, first run and metadata cached;
//   3. refresh storms: 32 `onramp token` at once on the file store, 16 on the keychain, 32 on a signup
//      (provisioning) session, each with an expiring session: refreshes the mock saw, failures, wall time;
//   4. the production install (`npm pack`, `npm install --omit=dev` in an empty folder): size, packages.
// The keychain rows need a Secret Service: `scripts/with-keyring.sh npm run bench` gives a private one;
// without it they say "not measured: no Secret Service". Temp folders, the mock process and keychain
// entries are cleaned up even on failure (scripts/bench/support.js).
//   BENCH_RUNS=n            start-up runs per case (default 15, the minimum)
//   BENCH_SKIP_STARTUP=1    skip the start-up table (the slowest part)
//   BENCH_SKIP_INSTALL=1    skip the production install (npm pack + npm install --omit=dev: needs the registry)
//   BENCH_NO_WRITE=1        print only, leave BENCHMARKS.md alone
//   BENCH_KEYCHAIN=0        never touch the OS keychain
import {writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {INSTALL_COMMANDS, measureInstall, renderInstall} from './bench/install.js'
import {startMock} from './bench/mock.js'
import {measureRequests, measureStorm, newSession, renderRequests, renderStorms} from './bench/network.js'
import {measureStartup, renderStartup} from './bench/startup.js'
import {finish, keychainReachable, onFinish, root, runCli, WIZARD_CEILING, WIZARD_CLIENT_ID} from './bench/support.js'

const runs = Math.max(15, Number(process.env.BENCH_RUNS ?? 15))
const began = Date.now()
const loadAtStart = loadAverage()
const step = (message) => process.stderr.write(`[bench ${((Date.now() - began) / 1000).toFixed(0).padStart(3)} s] ${message}\n`)
const keychainSkip = process.env.BENCH_KEYCHAIN === '0' ? 'BENCH_KEYCHAIN=0' : keychainReachable() ? undefined : 'no Secret Service'

let report
try {
  step('starting the mock server')
  const mock = await startMock()
  await mock.control('apps', {client_id: WIZARD_CLIENT_ID, scopes: WIZARD_CEILING})
  // The partner buckets off: the bench refreshes and signs up more often in a minute than they allow.
  await mock.control('config', {latency_ms: 0, access_token_ttl: null, rate_limit: false})

  /** A keychain session, logged out again at the end so no entry outlives the bench. */
  const keychainSession = async () => {
    const session = await newSession(mock, {storage: 'keychain', kind: 'login'})
    onFinish(() => runCli(['logout', '--all'], session.env, {timeoutMs: 30_000}))
    return session
  }

  if (!process.env.BENCH_SKIP_STARTUP) step(`start-up: ${runs} rounds${keychainSkip ? ` (keychain: ${keychainSkip})` : ' (keychain included)'}`)
  const startup = process.env.BENCH_SKIP_STARTUP
    ? {skipped: 'skipped (BENCH_SKIP_STARTUP=1)'}
    : measureStartup({runs, keychain: keychainSkip ? {skipped: keychainSkip} : {env: (await keychainSession()).env}})

  step('HTTP requests per login and signup')
  const requests = await measureRequests(mock)

  const storms = []
  step('refresh storm: file store, 32 processes')
  storms.push(await measureStorm(mock, {label: '`onramp token`, login session, file store', storage: 'file', kind: 'oauth', processes: 32}))
  if (keychainSkip) {
    storms.push({label: '`onramp token`, login session, keychain', processes: 16, skipped: keychainSkip})
  } else {
    step('refresh storm: keychain, 16 processes')
    storms.push(await measureStorm(mock, {label: '`onramp token`, login session, keychain', storage: 'keychain', kind: 'oauth', processes: 16}))
    onFinish(() => runCli(['logout', '--all'], storms.at(-1).home.env, {timeoutMs: 30_000}))
  }
  step('refresh storm: signup (provisioning) session, file store, 32 processes')
  storms.push(await measureStorm(mock, {label: '`onramp token`, signup (provisioning) session, file store', storage: 'file', kind: 'provisioning', processes: 32}))

  let install
  if (process.env.BENCH_SKIP_INSTALL) {
    install = {skipped: 'skipped (BENCH_SKIP_INSTALL=1)'}
  } else {
    step('production install: npm pack, npm install --omit=dev')
    install = measureInstall()
  }
  report = render({startup, requests, storms, install, keychainSkip})
} finally {
  await finish()
}

console.log(report)
if (!process.env.BENCH_NO_WRITE) writeFileSync(path.join(root, 'BENCHMARKS.md'), report)
step('done')

function loadAverage() {
  return os.loadavg().map((value) => value.toFixed(1)).join(' ')
}

/** The command this run was started with, as far as the environment tells. */
function invocation() {
  const wrapped = /onramp-keyring-/.test(process.env.XDG_RUNTIME_DIR ?? '') ? 'scripts/with-keyring.sh ' : ''
  const vars = ['BENCH_RUNS', 'BENCH_SKIP_STARTUP', 'BENCH_SKIP_INSTALL', 'BENCH_KEYCHAIN'].filter((name) => process.env[name]).map((name) => `${name}=${process.env[name]} `).join('')
  const how = process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : 'node scripts/bench.js'
  return `${vars}${wrapped}${how}`
}

function render({startup, requests, storms, install, keychainSkip}) {
  const cpus = os.cpus()
  const machine = `${cpus.length} cores, ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.platform()} ${os.release()}`
  const seconds = ((Date.now() - began) / 1000).toFixed(0)
  return `# Benchmarks

Written by \`npm run bench\` (scripts/bench.js, scripts/bench/); numbers from one run on one machine.

- Command: \`${invocation()}\` (\`npm run build\` first; the whole bench took ${seconds} s)
- Machine: ${machine}
- Load average (1/5/15 min): ${loadAtStart} at the start, ${loadAverage()} at the end. The machine is shared
  with other agents building and testing at the same time, so absolute times are inflated and noisy; the
  ratios to \`node -e 0\` and to a single refresh, measured in the same run, are the numbers to compare.
- Node ${process.version}; ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}
- Server: the served mock, \`node --import tsx test/mock-server/serve.ts --port 0\` (control API in
  test/mock-server/README.md), wizard app \`${WIZARD_CLIENT_ID}\` with its usual ceiling, the partner rate-limit
  buckets off (\`{"rate_limit": false}\`: the bench refreshes and signs up more often than they allow in an hour).
- Keychain: ${keychainSkip ? `not measured: ${keychainSkip === 'no Secret Service' ? 'no Secret Service (run `scripts/with-keyring.sh npm run bench` for a private one)' : keychainSkip}` : 'a Secret Service answered (a write/delete round trip through @napi-rs/keyring); keychain rows measured'}

## Start-up

Wall time from spawn to exit of the built binary (\`node bin/run.js ...\`), median and 95th percentile of
${runs} runs per variant, every variant interleaved round by round with \`node -e 0\`. No network: the stored
session is fresh, so \`onramp token\` answers from the store (the file case reads a written credentials.json;
the keychain case a session from a real \`onramp login\` against the mock with \`ONRAMP_STORAGE=keychain\`).
"oclif path" is the same command with \`ONRAMP_NO_FAST_PATH=1\`: what it cost before the fast path (src/fast/).

${startup.skipped ? `Not measured in this run: ${startup.skipped}.` : renderStartup(startup)}
${keychainSkip ? `\n\`onramp token\` on the keychain: not measured: ${keychainSkip}.\n` : ''}
## Refresh storms

N \`onramp token\` processes started at once (\`ONRAMP_STORAGE=file\` or \`keychain\`), each HOME holding a session
whose access token is inside the 60 s refresh margin, while the mock issues 3600 s tokens: one refresh must serve
them all. How the session is made expiring, with the default command (no \`--min-valid\` in the storm): the mock
issues 61 s tokens (\`POST /__mock/config {"access_token_ttl": 61}\`), \`onramp token --min-valid 7200\` refreshes
once, the mock goes back to 3600 s (\`{"access_token_ttl": null}\`), and the bench waits 1.2 s. Sessions come from
\`onramp login\` (BROWSER=\`node scripts/scripted-browser.mjs\`) or \`onramp signup --non-interactive --email
bench-<random>@example.com\` (provisioning: refreshed at \`/api/agentic/oauth/token\`, no grace period).
"Refreshes seen by the mock": \`counters.grants.refresh_token\` (OAuth) or
\`counters.provisioning.token_requests.refresh_token\` (provisioning), before/after; "token endpoint requests":
every request to a token endpoint in \`counters.requests\`. "One refresh" is the median of 3 single
\`onramp token\` runs that each refreshed once (the same preparation before each). The last column runs the same N
processes again right after the storm, when the stored token is fresh: what N concurrent start-ups cost on this
machine without any refresh, so the difference is what the refresh and the lock added.

${renderStorms(storms)}

## HTTP requests per login and signup

File store, \`ONRAMP_HOST\`=the mock, \`ONRAMP_CLIENT_ID\`=the wizard app; \`onramp login\` with
BROWSER=\`node scripts/scripted-browser.mjs\` (it approves the consent page), then again in the same HOME;
\`onramp signup --non-interactive --email bench-<random>@example.com\`, then again in the same HOME with another email.

${renderRequests(requests)}

## Production install

Commands: ${INSTALL_COMMANDS.map((command) => `\`${command}\``).join(', ')}.

${renderInstall(install)}
`
}
