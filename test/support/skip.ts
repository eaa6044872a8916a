import fs from 'node:fs'
import path from 'node:path'

import {describe, it} from 'vitest'

/**
 * `it`, or `it.skip` with the reason appended to the title when `reason` is a string: the reason then
 * shows wherever the title does (vitest's console output, the JSON report, and the list of skipped
 * tests `scripts/test.js` prints after the summary line). Use it instead of a bare `it.skipIf(cond)`,
 * whose reason is lost.
 *
 *   itUnless(process.platform === 'win32' && 'POSIX file modes only')('tightens 0644 to 0600', ...)
 */
export function itUnless(reason: string | false | undefined): (title: string, fn: () => unknown, timeout?: number) => void {
  return (title, fn, timeout) => (reason ? it.skip(skippedTitle(title, reason), fn, timeout) : it(title, fn, timeout))
}

/** `describe` or `describe.skip`, like `itUnless`: every test inside carries the reason in its full name. */
export function describeUnless(reason: string | false | undefined): (title: string, fn: () => void) => void {
  return (title, fn) => (reason ? describe.skip(skippedTitle(title, reason), fn) : describe(title, fn))
}

export function skippedTitle(title: string, reason: string): string {
  return `${title} (skipped: ${reason})`
}

export const POSIX_ONLY = process.platform === 'win32' && 'POSIX file modes and owners only'
/** Making a file owned by another user takes root. */
export const ROOT_ONLY = (process.platform === 'win32' || process.getuid?.() !== 0) && 'needs root to make a file owned by another user'

/**
 * Some checks need an unprivileged process (root binds port 80 and writes anywhere): as root they run a child
 * as uid 65534, which must be able to reach the checkout. A checkout under a folder others cannot enter (a
 * 0700 mktemp folder) makes that impossible: those tests then skip, saying why.
 */
export const UNPRIVILEGED_CHILD_UNAVAILABLE = ((): string | false => {
  if (process.platform === 'win32') return 'POSIX users only'
  if (process.getuid?.() !== 0) return false // already unprivileged: the test runs as this user
  for (let dir = path.resolve(import.meta.dirname, '../..'); ; dir = path.dirname(dir)) {
    const mode = fs.statSync(dir).mode & 0o777
    if ((mode & 0o001) === 0) return `an unprivileged user cannot enter ${dir} (mode ${mode.toString(8)}), so the check cannot run as one`
    if (dir === path.dirname(dir)) return false
  }
})()
