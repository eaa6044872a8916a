#!/usr/bin/env node
// The hot commands (token, status, scopes, --version) skip @oclif/core when the fast path understands
// the whole command line (src/fast/run.ts); everything else, and every doubt, goes to oclif.
// ONRAMP_NO_FAST_PATH=1 forces oclif (tests compare the two paths; the benchmark measures both).
const fast = process.env.ONRAMP_NO_FAST_PATH ? undefined : await import('../dist/fast/run.js')
if (!(await fast?.runFast(process.argv.slice(2)))) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
