// Runs the whole vitest suite, then prints one line CI can read:
// `Tests: N passed, N failed, N skipped`, computed from vitest's JSON reporter,
// so a run that executed nothing is visible; then one line per skipped test with its reason
// (test/support/skip.ts puts the reason in the title; `ctx.skip(reason)` callers may set meta.skipReason).
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, rmSync} from 'node:fs'
import path from 'node:path'

const resultsFile = '.vitest-results.json'
rmSync(resultsFile, {force: true})
const vitest = spawnSync(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${resultsFile}`, ...process.argv.slice(2)],
  {stdio: 'inherit'},
)

let passed = 0
let failed = 0
let skipped = 0
const skippedTests = []
if (existsSync(resultsFile)) {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'))
  for (const file of results.testResults ?? []) {
    for (const test of file.assertionResults ?? []) {
      if (test.status === 'passed') passed++
      else if (test.status === 'failed') failed++
      else {
        skipped++ // pending, skipped, todo
        const reason = test.meta?.skipReason ? ` (skipped: ${test.meta.skipReason})` : ''
        skippedTests.push(`  ${test.status}: ${path.relative(process.cwd(), file.name)} > ${test.fullName}${reason}`)
      }
    }
    // A file that failed to load has no assertions: count it as a failure so it cannot hide.
    if ((file.assertionResults ?? []).length === 0 && file.status === 'failed') failed++
  }
}
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
for (const line of skippedTests) console.log(line)
const status = vitest.status ?? 1
process.exit(status !== 0 ? status : failed > 0 || passed === 0 ? 1 : 0)
