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
