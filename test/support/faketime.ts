/**
 * Runs a child with its process clock shifted by libfaketime: `Date`, the wall clock, moves by the
 * offset; the monotonic clock does not (FAKETIME_DONT_FAKE_MONOTONIC), nor does the file system's
 * clock (mtimes stay real). That is a machine whose clock is hours apart from its NFS server's, or a VM
 * that drifted. The library is preloaded into the child itself (the environment the `faketime` wrapper
 * would set), so the child's pid is the node process's and killing it kills the process that holds
 * locks. `.ci/run` installs faketime; ONRAMP_REQUIRE_FAKETIME_TESTS=1 (set there) turns its absence
 * into a failure instead of a skip.
 */
import {spawnSync} from 'node:child_process'

export type ClockOffset = '+2h' | '-2h'
export const CLOCK_OFFSETS: readonly ClockOffset[] = ['+2h', '-2h']
export const OFFSET_MS: Record<ClockOffset, number> = {'+2h': 2 * 3600_000, '-2h': -2 * 3600_000}

let library: string | undefined
let probed: string | undefined | null = null

/** The environment that shifts a child's process clock by `offset` (call faketimeUnavailable() first). */
export function faketimeEnv(offset: ClockOffset): Record<string, string> {
  if (faketimeUnavailable() || !library) throw new Error('faketime is not available here')
  return {LD_PRELOAD: library, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1'}
}

/**
 * Why a faketime test cannot run here, or undefined when it can: the `faketime` wrapper names the
 * library it preloads, and a node under that library must see its Date moved by the offset.
 */
export function faketimeUnavailable(): string | undefined {
  if (probed === null) probed = probe()
  if (probed && process.env.ONRAMP_REQUIRE_FAKETIME_TESTS === '1') throw new Error(`${probed}; ONRAMP_REQUIRE_FAKETIME_TESTS=1 forbids skipping`)
  return probed
}

function probe(): string | undefined {
  const named = spawnSync('faketime', ['-m', '-f', '+0', 'sh', '-c', 'printf %s "$LD_PRELOAD"'], {encoding: 'utf8', timeout: 20_000})
  if (named.error || named.status !== 0 || !named.stdout) return `faketime is not installed (apt-get install faketime)${named.error ? `: ${named.error.message}` : ''}`
  library = named.stdout.trim()
  const before = Date.now()
  const env = {...process.env, LD_PRELOAD: library, FAKETIME: '+2h', FAKETIME_DONT_FAKE_MONOTONIC: '1'}
  const result = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(Date.now()))'], {encoding: 'utf8', timeout: 20_000, env})
  const seen = Number(result.stdout) - before
  if (result.status !== 0 || !(Math.abs(seen - OFFSET_MS['+2h']) < 60_000)) return `libfaketime (${library}) does not shift node's clock here (exit ${result.status}, saw ${Math.round(seen / 1000)} s)`
  return undefined
}
