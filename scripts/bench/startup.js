// Start-up of the commands scripts call most, on the built binary, side by side with `node -e 0` in the
// same run (ratios, so a loaded or slow machine still gives comparable numbers). Each case runs twice: the
// default binary (fast path for the hot commands) and ONRAMP_NO_FAST_PATH=1 (the oclif path, i.e. what
// these commands cost before the fast path). Rounds interleave every variant with `node -e 0`, so load
// from other processes is shared fairly between them.
import {spawnSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {baseEnv, bin, isolatedHome, median, root, WIZARD_CLIENT_ID} from './support.js'

const issuer = 'https://us.posthog.com'

/** A stored session that stays fresh: `onramp token` answers from the store without any request. */
function fileHomeWithSession() {
  const {home, env} = isolatedHome('onramp-bench-startup-')
  const config = path.join(env.XDG_CONFIG_HOME, 'onramp')
  mkdirSync(config, {recursive: true, mode: 0o700})
  const session = {
    issuer, client_id: WIZARD_CLIENT_ID, region: 'us', access_token: `pha_${'b'.repeat(44)}`, refresh_token: `phr_${'b'.repeat(44)}`,
    expires_at: new Date(Date.now() + 86_400_000).toISOString(), scope: ['user:read'], user: {email: 'bench@example.com'},
    obtained_at: new Date().toISOString(),
  }
  writeFileSync(path.join(config, 'credentials.json'), JSON.stringify({version: 1, sessions: {[`${issuer}#${WIZARD_CLIENT_ID}`]: session}}), {mode: 0o600})
  return {home, env}
}

/**
 * @param keychain `{env}` of a HOME holding a fresh keychain session (logged in against the mock), or
 *   `{skipped: reason}`.
 */
export function measureStartup({runs, keychain}) {
  const {env: homeEnv} = fileHomeWithSession()
  const env = {...baseEnv(), ...homeEnv}
  const cases = [
    {name: 'onramp --version', args: ['--version'], target: 2.0},
    {name: 'onramp token (file store, stored session)', args: ['token'], target: 1.5},
    {name: 'onramp token (ONRAMP_TOKEN)', args: ['token'], extra: {ONRAMP_TOKEN: 'pha_fromenv'}, target: 1.5},
    {name: 'onramp status --json', args: ['status', '--json'], target: 2.0},
    {name: 'onramp scopes --json', args: ['scopes', '--json'], target: 2.0},
  ]
  if (keychain.env) cases.push({name: 'onramp token (keychain, stored session)', args: ['token'], extra: keychain.env, env: {...baseEnv(), ...keychain.env}, target: 2.0})

  const baseline = {name: '`node -e 0`', command: [process.execPath, ['-e', '0']], env, times: []}
  const variants = [baseline]
  for (const item of cases) {
    const caseEnv = item.env ?? {...env, ...item.extra}
    item.fast = {command: [process.execPath, [bin, ...item.args]], env: caseEnv, times: []}
    item.oclif = {command: [process.execPath, [bin, ...item.args]], env: {...caseEnv, ONRAMP_NO_FAST_PATH: '1'}, times: []}
    variants.push(item.fast, item.oclif)
  }
  const time = (variant) => {
    const [file, args] = variant.command
    const started = process.hrtime.bigint()
    const result = spawnSync(file, args, {env: variant.env, encoding: 'utf8', cwd: root, timeout: 30_000})
    variant.times.push(Number(process.hrtime.bigint() - started) / 1e6)
    if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  }
  for (const variant of variants) time(variant) // warm the file cache; not counted
  for (const variant of variants) variant.times = []
  for (let round = 0; round < runs; round++) {
    for (const variant of shuffled(variants)) time(variant)
  }
  return {baseline, cases}
}

export function renderStartup({baseline, cases}) {
  const stats = (times) => {
    const sorted = [...times].sort((a, b) => a - b)
    return {median: median(sorted), p95: sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)]}
  }
  const node = stats(baseline.times)
  const ratio = (ms) => `${(ms / node.median).toFixed(2)}x`
  const rows = [
    '| command | median ms | p95 ms | median / node | target | oclif path: median ms | oclif path / node |',
    '|---|---|---|---|---|---|---|',
    `| ${baseline.name} | ${node.median.toFixed(0)} | ${node.p95.toFixed(0)} | 1.00x | | | |`,
  ]
  for (const item of cases) {
    const fast = stats(item.fast.times)
    const oclif = stats(item.oclif.times)
    const met = fast.median / node.median <= item.target ? 'met' : 'NOT met'
    rows.push(`| \`${item.name}\` | ${fast.median.toFixed(0)} | ${fast.p95.toFixed(0)} | **${ratio(fast.median)}** | <= ${item.target.toFixed(1)}x (${met}) | ${oclif.median.toFixed(0)} | ${ratio(oclif.median)} |`)
  }
  return rows.join('\n')
}

function shuffled(items) {
  const copy = [...items]
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1))
    ;[copy[index], copy[other]] = [copy[other], copy[index]]
  }
  return copy
}
