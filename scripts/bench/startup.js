// Start-up of the commands scripts call most, on the built binary, under each Node of the CI matrix, side
// by side with `node -e 0` of the same Node and with `gh auth token` (Debian's gh, answering from GH_TOKEN)
// in the same rounds: ratios, so a loaded machine still gives comparable numbers. Rounds interleave every
// variant in a fresh random order. Rows come from providers (STARTUP_ROWS below, plus any a section module
// adds, e.g. a Redis store's), each `(context) => [{name, args, env, targets}]`.
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import path from 'node:path'

import {baseEnv, bin, isolatedHome, median, root, WIZARD_CLIENT_ID} from './support.js'

export const GH = '/usr/bin/gh'
const issuer = 'https://us.posthog.com'
/** Issue 17 item 5. `before` rows: not slower than the fast path's ratio when this bench was last rewritten (Node 20). */
const TARGETS = {
  token: [{of: 'node', max: 1.25, nodes: [22, 24]}, {of: 'gh', max: 0.8, nodes: [22, 24]}],
  keychain: [{of: 'node', max: 1.6}],
  version: [{of: 'node', max: 1.2, nodes: [20], note: 'before'}],
  status: [{of: 'node', max: 1.35, nodes: [20], note: 'before'}],
}

/** A HOME holding a fresh session in credentials.json, written by onramp's own file store (dist/). */
async function fileHomeWithSession() {
  const {env} = isolatedHome('onramp-bench-startup-')
  const {createFileStore} = await import(path.join(root, 'dist', 'session', 'file-store.js'))
  await createFileStore({path: path.join(env.XDG_CONFIG_HOME, 'onramp', 'credentials.json')}).save({
    issuer, client_id: WIZARD_CLIENT_ID, region: 'us', access_token: `pha_${'b'.repeat(44)}`, refresh_token: `phr_${'b'.repeat(44)}`,
    expires_at: new Date(Date.now() + 86_400_000).toISOString(), scope: ['user:read'], user: {email: 'bench@example.com'},
    obtained_at: new Date().toISOString(), kind: 'oauth',
  })
  return {...baseEnv(), ...env}
}

/** The rows every bench has. `context.keychain`: `{env}` of a HOME with a keychain session, or `{skipped}`. */
export const STARTUP_ROWS = [
  async () => {
    const env = await fileHomeWithSession()
    return [
      {name: 'onramp --version', args: ['--version'], env, targets: TARGETS.version, oclif: true},
      {name: 'onramp token (file store, stored session)', args: ['token'], env, targets: TARGETS.token, oclif: true, gh: true},
      {name: 'onramp token (file store, no code cache)', args: ['token'], env: {...env, NODE_DISABLE_COMPILE_CACHE: '1'}},
      {name: 'onramp token (ONRAMP_TOKEN)', args: ['token'], env: {...env, ONRAMP_TOKEN: 'pha_fromenv'}},
      {name: 'onramp status --json', args: ['status', '--json'], env, targets: TARGETS.status, oclif: true},
      {name: 'onramp scopes --json', args: ['scopes', '--json'], env},
    ]
  },
  async ({keychain}) =>
    keychain.env
      ? [{name: 'onramp token (keychain, stored session)', args: ['token'], env: {...baseEnv(), ...keychain.env}, targets: TARGETS.keychain, oclif: true}]
      : [{name: 'onramp token (keychain, stored session)', skipped: keychain.skipped}],
]

/**
 * @param nodes from nodeBinaries(): each measured in its own rounds (its own `node -e 0` and gh).
 * @param providers row providers; @param context passed to them.
 */
export async function measureStartup({runs, nodes, providers = STARTUP_ROWS, context}) {
  const rows = (await Promise.all(providers.map((provider) => provider(context)))).flat()
  const ghEnv = {...baseEnv(), GH_TOKEN: `gho_${'x'.repeat(36)}`, GH_CONFIG_DIR: isolatedHome('onramp-bench-gh-').home}
  const results = []
  for (const binary of nodes) {
    if (binary.skipped) {
      results.push(binary)
      continue
    }
    const variant = (name, file, args, env) => ({name, command: [file, args], env, times: []})
    const baseline = variant('node -e 0', binary.node, ['-e', '0'], baseEnv())
    const gh = existsSync(GH) ? variant('gh auth token', GH, ['auth', 'token'], ghEnv) : undefined
    const measured = rows.filter((row) => !row.skipped).map((row) => ({
      ...row,
      fast: variant(row.name, binary.node, [bin, ...row.args], row.env),
      // The oclif path (ONRAMP_NO_FAST_PATH=1) under the bench's own Node only: what the fast path saves.
      oclifPath: row.oclif && binary.node === process.execPath ? variant(`${row.name} (oclif)`, binary.node, [bin, ...row.args], {...row.env, ONRAMP_NO_FAST_PATH: '1'}) : undefined,
    }))
    const variants = [baseline, ...(gh ? [gh] : []), ...measured.flatMap((row) => [row.fast, ...(row.oclifPath ? [row.oclifPath] : [])])]
    for (const item of variants) time(item) // warm the file cache and the compile cache; not counted
    for (const item of variants) item.times = []
    for (let round = 0; round < runs; round++) for (const item of shuffled(variants)) time(item)
    results.push({...binary, baseline, gh, rows: [...measured, ...rows.filter((row) => row.skipped)]})
  }
  return {runs, results}
}

function time(variant) {
  const [file, args] = variant.command
  const started = process.hrtime.bigint()
  const result = spawnSync(file, args, {env: variant.env, encoding: 'utf8', cwd: root, timeout: 30_000})
  variant.times.push(Number(process.hrtime.bigint() - started) / 1e6)
  if (result.status !== 0) throw new Error(`${variant.name} exited ${result.status}: ${result.stderr}`)
}

function stats(times) {
  const sorted = [...times].sort((a, b) => a - b)
  return {median: median(sorted), p95: sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)]}
}

/** Each target as `<= 1.25x node (met)`; a target for other Nodes only is left out. */
function judge(targets = [], major, ratios) {
  return targets
    .filter((target) => !target.nodes || target.nodes.includes(major))
    .filter((target) => ratios[target.of] !== undefined)
    .map((target) => `<= ${target.max}x ${target.of === 'gh' ? 'gh' : 'node'}${target.note ? ` (${target.note})` : ''}: ${ratios[target.of] <= target.max ? 'met' : '**NOT met**'}`)
    .join('; ')
}

export function renderStartup({runs, results}) {
  const out = []
  for (const result of results) {
    out.push(`### Node ${result.version ?? result.major}`, '')
    if (result.skipped) {
      out.push(`Not measured: ${result.skipped}.`, '')
      continue
    }
    const node = stats(result.baseline.times).median
    const gh = result.gh ? stats(result.gh.times).median : undefined
    const ratio = (ms, of) => (of ? `${(ms / of).toFixed(2)}x` : '')
    out.push(
      `| command | median ms | p95 ms | / \`node -e 0\` | / \`gh auth token\` | target | oclif path: median ms (/ node) |`,
      '|---|---|---|---|---|---|---|',
      `| \`node -e 0\` | ${node.toFixed(0)} | ${stats(result.baseline.times).p95.toFixed(0)} | 1.00x | ${ratio(node, gh)} | | |`,
    )
    if (result.gh) out.push(`| \`gh auth token\` (reference, GH_TOKEN set) | ${gh.toFixed(0)} | ${stats(result.gh.times).p95.toFixed(0)} | ${ratio(gh, node)} | 1.00x | | |`)
    for (const row of result.rows) {
      if (row.skipped) {
        out.push(`| \`${row.name}\` | not measured: ${row.skipped} | | | | | |`)
        continue
      }
      const fast = stats(row.fast.times)
      const oclif = row.oclifPath ? stats(row.oclifPath.times).median : undefined
      const targets = judge(row.targets, result.major, {node: fast.median / node, gh: gh ? fast.median / gh : undefined})
      out.push(
        `| \`${row.name}\` | ${fast.median.toFixed(0)} | ${fast.p95.toFixed(0)} | **${ratio(fast.median, node)}** | ${row.gh ? `**${ratio(fast.median, gh)}**` : ratio(fast.median, gh)} | ${targets} | ${oclif ? `${oclif.toFixed(0)} (${ratio(oclif, node)})` : ''} |`,
      )
    }
    out.push('')
  }
  return `Medians of ${runs} interleaved rounds per Node.\n\n${out.join('\n')}`
}

function shuffled(items) {
  const copy = [...items]
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1))
    ;[copy[index], copy[other]] = [copy[other], copy[index]]
  }
  return copy
}
