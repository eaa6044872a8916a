import {expect} from 'vitest'

import {runCli, type CliResult} from './cli.js'

/**
 * Refresh storms: many `onramp token` processes at once on one session about to expire, where exactly
 * one may refresh and every process must print the same token.
 */

/** `onramp token`, `perEnv` times in each of `envs` (an environment a machine), all at once. */
export function tokenStorm(envs: Record<string, string> | Array<Record<string, string>>, perEnv: number, timeoutMs: number): Promise<CliResult[]> {
  return Promise.all([envs].flat().flatMap((env) => Array.from({length: perEnv}, () => runCli(['token'], {env, timeoutMs}))))
}

/** Every run exited 0 (a failure is named with its stderr) and all printed the same token: returns it. */
export function expectOneToken(runs: CliResult[]): string {
  expect(runs.filter((run) => run.code !== 0).map((run) => `exit ${run.code}: ${run.stderr}`)).toEqual([])
  const tokens = new Set(runs.map((run) => run.stdout.trim()))
  expect(tokens.size, [...tokens].join('\n')).toBe(1)
  return [...tokens][0]!
}
