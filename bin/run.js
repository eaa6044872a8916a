#!/usr/bin/env node
// The hot commands (token, status, scopes, --version) skip @oclif/core when the fast path understands
// the whole command line (src/fast/run.ts, built by scripts/build.js into the one file dist/fast/hot.cjs);
// everything else, and every doubt, goes to oclif. ONRAMP_NO_FAST_PATH=1 forces oclif (tests compare the
// two paths; the benchmark measures both). Both paths run with Node's compile cache in onramp's cache
// folder where Node has one (src/fast/compile-cache.ts).
import {createRequire} from 'node:module'

const require = createRequire(import.meta.url)
require('../dist/fast/compile-cache.cjs').enableCompileCache()
const fast = process.env.ONRAMP_NO_FAST_PATH ? undefined : require('../dist/fast/hot.cjs')
if (!(await fast?.runFast(process.argv.slice(2)))) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
