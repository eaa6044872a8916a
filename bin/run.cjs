#!/usr/bin/env node
// The hot commands (token, status, scopes, --version) skip @oclif/core when the fast path understands the
// whole command line (src/fast/run.ts, bundled by scripts/build.js into dist/fast/hot.cjs, loaded with a code
// cache by src/fast/boot.ts); everything else, and every doubt, goes to oclif with Node's compile cache.
// ONRAMP_NO_FAST_PATH=1 forces oclif (tests compare the two paths; the benchmark measures both).
// CommonJS on purpose: an ES module entry starts Node's ES module loader, some 3 ms of an `onramp token`.
'use strict'
require('../dist/fast/boot.cjs').main({binFile: __filename, require})
