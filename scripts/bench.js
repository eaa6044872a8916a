// `npm run bench`: start-up cost of the commands scripts call most, on the built binary.
// Prints a Markdown table (median and p95 wall time over N runs) for BENCHMARKS.md.
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

const runs = Number(process.env.BENCH_RUNS ?? 20)
const home = mkdtempSync(path.join(tmpdir(), 'onramp-bench-'))
const config = path.join(home, '.config', 'onramp')
mkdirSync(config, {recursive: true, mode: 0o700})
const issuer = 'https://us.posthog.com'
const clientId = 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM'
// A stored session that stays fresh: `onramp token` answers from the store without any request.
writeFileSync(
  path.join(config, 'credentials.json'),
  JSON.stringify({
    version: 1,
    sessions: {
      [`${issuer}#${clientId}`]: {
        issuer, client_id: clientId, region: 'us', access_token: `pha_${'b'.repeat(44)}`, refresh_token: `phr_${'b'.repeat(44)}`,
        expires_at: new Date(Date.now() + 86_400_000).toISOString(), scope: ['user:read'], user: {email: 'bench@example.com'}, obtained_at: new Date().toISOString(),
      },
    },
  }),
  {mode: 0o600},
)
const env = {...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CACHE_HOME: path.join(home, '.cache'), XDG_STATE_HOME: path.join(home, '.state'), ONRAMP_STORAGE: 'file'}
delete env.NODE_ENV

const cases = [
  ['onramp --version', ['--version'], {}],
  ['onramp scopes --json', ['scopes', '--json'], {}],
  ['onramp token (stored session, no refresh)', ['token'], {}],
  ['onramp token (ONRAMP_TOKEN)', ['token'], {ONRAMP_TOKEN: 'pha_fromenv'}],
  ['onramp status --json', ['status', '--json'], {}],
]

console.log(`| command | median ms | p95 ms |\n|---|---|---|`)
for (const [name, args, extra] of cases) {
  const times = []
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint()
    const result = spawnSync(process.execPath, ['bin/run.js', ...args], {env: {...env, ...extra}, encoding: 'utf8'})
    times.push(Number(process.hrtime.bigint() - started) / 1e6)
    if (result.status !== 0) throw new Error(`${name} exited ${result.status}: ${result.stderr}`)
  }
  times.sort((a, b) => a - b)
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(0)
  console.log(`| \`${name}\` | ${at(0.5)} | ${at(0.95)} |`)
}
rmSync(home, {recursive: true, force: true})
