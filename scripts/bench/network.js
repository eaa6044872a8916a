// The bench sections that talk to the served mock: HTTP requests per login and signup, and refresh
// storms (N `onramp token` processes at once on an expiring session).
import {randomBytes} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {isolatedHome, median, redact, runCli, SCRIPTED_BROWSER, sleep, WIZARD_CLIENT_ID} from './support.js'

/** What each request the CLI makes is for (paths as the mock counts them). */
const PURPOSE = [
  [/^GET \/\.well-known\//, 'server metadata (discovery)'],
  [/client_registration/, "the app's ceiling (provisioning client_registration)"],
  [/^POST \/oauth\/token/, 'token request'],
  [/^POST \/api\/agentic\/oauth\/token/, 'provisioning token request'],
  [/users\/@me/, 'user lookup'],
  [/^GET \/oauth\/userinfo/, 'user lookup (userinfo)'],
  [/account_requests/, 'account request'],
  [/introspect/, 'grant read back (introspection)'],
  [/^POST \/oauth\/register/, 'dynamic client registration'],
  [/^POST \/oauth\/revoke/, 'revocation'],
  [/resources/, 'provisioning resource'],
]
const purposeOf = (key) => PURPOSE.find(([pattern]) => pattern.test(key))?.[1] ?? ''

/** Requests the mock counted between two snapshots, its control API left out. */
function requestsBetween(before, after) {
  const seen = {}
  for (const [key, count] of Object.entries(after.counters.requests)) {
    const delta = count - (before.counters.requests[key] ?? 0)
    if (delta > 0 && !/^\w+ \/__mock\//.test(key)) seen[key] = delta
  }
  return seen
}

/** The scripted browser's own requests (its FOLLOW_LOG), as the mock keys them: not the CLI's. */
function browserRequests(logFile, issuer) {
  const seen = {}
  if (!existsSync(logFile)) return seen
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const match = /^(GET|POST) (\S+)$/.exec(line)
    if (!match) continue
    const url = new URL(match[2])
    if (url.origin !== issuer) continue // the CLI's loopback callback
    const key = `${match[1]} ${url.pathname}`
    seen[key] = (seen[key] ?? 0) + 1
  }
  return seen
}

function subtract(all, part) {
  const rest = {}
  for (const [key, count] of Object.entries(all)) {
    const left = count - (part[key] ?? 0)
    if (left > 0) rest[key] = left
  }
  return rest
}

const total = (counts) => Object.values(counts).reduce((sum, n) => sum + n, 0)

/**
 * One command run against the mock, with the requests it caused: the CLI's, and (for login) the
 * scripted browser's, told apart by the browser's own log.
 */
async function countedRun(mock, {args, env, followLog}) {
  const before = await mock.state()
  const run = await runCli(args, {...env, FOLLOW_LOG: followLog}, {timeoutMs: 60_000})
  const after = await mock.state()
  if (run.code !== 0) throw new Error(`onramp ${args.join(' ')} exited ${run.code}: ${redact(run.stderr)}`)
  const all = requestsBetween(before, after)
  const browser = browserRequests(followLog, mock.issuer)
  return {cli: subtract(all, browser), browser, ms: run.ms}
}

/** `onramp login` twice and `onramp signup` twice, each pair in one HOME: empty cache, then metadata cached. */
export async function measureRequests(mock) {
  await mock.control('config', {access_token_ttl: null})
  const server = {ONRAMP_HOST: mock.issuer, ONRAMP_CLIENT_ID: WIZARD_CLIENT_ID, BROWSER: SCRIPTED_BROWSER}
  const login = isolatedHome('onramp-bench-login-')
  const loginEnv = {...login.env, ...server}
  const log = (name) => path.join(login.home, `${name}.log`)
  const loginFirst = await countedRun(mock, {args: ['login'], env: loginEnv, followLog: log('first')})
  const loginCached = await countedRun(mock, {args: ['login'], env: loginEnv, followLog: log('cached')})

  const signup = isolatedHome('onramp-bench-signup-')
  const signupEnv = {...signup.env, ...server}
  const email = () => `bench-${randomBytes(5).toString('hex')}@example.com`
  const signupFirst = await countedRun(mock, {args: ['signup', '--non-interactive', '--email', email()], env: signupEnv, followLog: path.join(signup.home, 'first.log')})
  const signupCached = await countedRun(mock, {args: ['signup', '--non-interactive', '--email', email()], env: signupEnv, followLog: path.join(signup.home, 'cached.log')})
  return {loginFirst, loginCached, signupFirst, signupCached}
}

export function renderRequests(result) {
  const rows = [
    ['`onramp login`, empty cache', result.loginFirst],
    ['`onramp login`, metadata cached (2nd run, same HOME)', result.loginCached],
    ['`onramp signup --non-interactive`, empty cache', result.signupFirst],
    ['`onramp signup --non-interactive`, metadata cached (2nd run, same HOME, new email)', result.signupCached],
  ]
  const breakdown = (counts) =>
    Object.entries(counts).map(([key, n]) => `\`${key}\`${n > 1 ? ` x${n}` : ''}${purposeOf(key) ? ` (${purposeOf(key)})` : ''}`).join('; ') || 'none'
  const table = [
    '| run | requests by the CLI | what they are | browser requests (not counted) |',
    '|---|---|---|---|',
    ...rows.map(([name, run]) => `| ${name} | **${total(run.cli)}** | ${breakdown(run.cli)} | ${total(run.browser) ? breakdown(run.browser) : 'none (no browser)'} |`),
  ]
  const cached = total(result.loginCached.cli)
  const verdict =
    cached <= 2
      ? `Target (login at most 2 requests to the server once metadata is cached): **met** (${cached}).`
      : `Target (login at most 2 requests to the server once metadata is cached): **NOT met** (${cached}). ` +
        `With metadata cached, discovery is gone; what is left is ${breakdown(result.loginCached.cli)}. ` +
        "The token exchange is the login itself. The app's ceiling (client_registration) is read on purpose before the browser " +
        'opens, so a narrowed ceiling stops the login before anyone consents (the scope check this CLI exists for); the user ' +
        'lookup names the account in the session. Reaching 2 would mean caching the ceiling (and missing a narrowing done since) ' +
        'or taking the email from the token response / ID token instead of a lookup.'
  return `${table.join('\n')}

${verdict}

Counted: every request the mock saw between a snapshot before and after the command (\`GET /__mock/state\`,
\`counters.requests\`), minus the mock's control API (\`/__mock/*\`) and minus the requests the scripted browser
logged itself (FOLLOW_LOG: the authorization page, the consent form and its redirects are the browser's, not the CLI's).`
}

/** Login (or signup) through the built binary into a fresh HOME on the given store. */
export async function newSession(mock, {storage, kind}) {
  const home = isolatedHome(`onramp-bench-${kind}-${storage}-`, storage)
  const env = {...home.env, ONRAMP_HOST: mock.issuer, ONRAMP_CLIENT_ID: WIZARD_CLIENT_ID, BROWSER: SCRIPTED_BROWSER}
  const args = kind === 'signup' ? ['signup', '--non-interactive', '--email', `bench-${randomBytes(5).toString('hex')}@example.com`] : ['login']
  const run = await runCli(args, env, {timeoutMs: 60_000})
  if (run.code !== 0) throw new Error(`onramp ${args[0]} (${storage}) exited ${run.code}: ${redact(run.stderr)}`)
  return {home, env}
}

/**
 * Leaves the stored access token "expiring" for a plain `onramp token` (the default 60 s margin) while
 * the token it will be refreshed into is not: one forced refresh while the mock issues 61 s tokens,
 * then 3600 s tokens again, and a wait until the stored one is inside the margin (the CLI's own clock).
 */
async function makeExpiring(mock, env) {
  await mock.control('config', {access_token_ttl: 61})
  const forced = await runCli(['token', '--min-valid', '7200'], env, {timeoutMs: 60_000})
  await mock.control('config', {access_token_ttl: null})
  if (forced.code !== 0) throw new Error(`onramp token --min-valid 7200 exited ${forced.code}: ${redact(forced.stderr)}`)
  await sleep(1200)
}

const COUNTERS = {
  oauth: {name: 'counters.grants.refresh_token', read: (state) => state.counters.grants.refresh_token ?? 0},
  provisioning: {name: 'counters.provisioning.token_requests.refresh_token', read: (state) => state.counters.provisioning.token_requests.refresh_token ?? 0},
}

/** N `onramp token` at once; the refreshes the mock saw, failures, distinct tokens printed, wall time. */
async function storm(mock, {env, processes, counter}) {
  const before = await mock.state()
  const started = process.hrtime.bigint()
  const runs = await Promise.all(Array.from({length: processes}, () => runCli(['token'], env, {timeoutMs: 120_000})))
  const wall = Number(process.hrtime.bigint() - started) / 1e6
  const after = await mock.state()
  const failed = runs.filter((run) => run.code !== 0)
  return {
    processes,
    refreshes: counter.read(after) - counter.read(before),
    tokenRequests: Object.entries(requestsBetween(before, after)).filter(([key]) => /token/.test(key)).reduce((sum, [, n]) => sum + n, 0),
    failures: failed.length,
    failure: failed[0] ? `exit ${failed[0].code}: ${redact(failed[0].stderr).split('\n')[0]}` : undefined,
    distinctTokens: new Set(runs.filter((run) => run.code === 0).map((run) => run.stdout.trim())).size,
    wall,
    slowest: Math.max(...runs.map((run) => run.ms)),
  }
}

/** Wall time of one `onramp token` that refreshes (median of `rounds`), each checked to be one refresh. */
async function singleRefresh(mock, {env, counter, rounds}) {
  const times = []
  for (let round = 0; round < rounds; round++) {
    await makeExpiring(mock, env)
    const before = counter.read(await mock.state())
    const run = await runCli(['token'], env, {timeoutMs: 60_000})
    const refreshes = counter.read(await mock.state()) - before
    if (run.code !== 0 || refreshes !== 1) throw new Error(`a single refresh: exit ${run.code}, ${refreshes} refreshes: ${redact(run.stderr)}`)
    times.push(run.ms)
  }
  return median(times)
}

/** One storm scenario: a session of `kind` on `storage`, single refreshes, then the storm. */
export async function measureStorm(mock, {label, storage, kind, processes, rounds = 3}) {
  const session = await newSession(mock, {storage, kind: kind === 'provisioning' ? 'signup' : 'login'})
  const counter = COUNTERS[kind]
  const single = await singleRefresh(mock, {env: session.env, counter, rounds})
  await makeExpiring(mock, session.env)
  const result = await storm(mock, {env: session.env, processes, counter})
  // The same N processes again, now that the stored token is fresh: what the storm costs without any
  // refresh (start-up and store reads of N processes on this machine), to tell lock waits from CPU contention.
  const calm = await storm(mock, {env: session.env, processes, counter})
  return {label, storage, kind, counterName: counter.name, single, rounds, ...result, calm, home: session}
}

export function renderStorms(storms) {
  const rows = storms.map((item) => {
    if (item.skipped) return `| ${item.label} | ${item.processes} | not measured: ${item.skipped} | | | | | | |`
    const ok = item.refreshes === 1 && item.failures === 0 && item.distinctTokens === 1
    return `| ${item.label} | ${item.processes} | **${item.refreshes}**${ok ? '' : ' (expected 1)'} | ${item.tokenRequests} | ${item.failures}${item.failure ? ` (${item.failure})` : ''} | ${item.distinctTokens} | ${(item.single / 1000).toFixed(2)} s | ${(item.wall / 1000).toFixed(2)} s (**${(item.wall / item.single).toFixed(1)}x**) | ${(item.calm.wall / 1000).toFixed(2)} s${item.calm.failures || item.calm.refreshes ? ` (${item.calm.failures} failures, ${item.calm.refreshes} refreshes)` : ''} |`
  })
  return [
    '| storm | processes | refreshes seen by the mock | token endpoint requests | failures (non-zero exits) | distinct tokens printed | one refresh (1 process, median) | storm wall time (vs one refresh) | same N, token fresh (no refresh) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n')
}
