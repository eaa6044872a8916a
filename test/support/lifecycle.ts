import {afterAll, afterEach, beforeAll, beforeEach} from 'vitest'

import {resolvePaths, type Paths} from '../../src/paths.js'
import {isolatedHome} from './cli.js'

/**
 * What a test file's set-up helpers are made of: a resource started once for the file, and a fresh
 * isolated home for each test. Each is read through the returned function, which fails naming the
 * resource when read outside the tests and hooks that have it.
 */

/** `start()` in beforeAll, `stop()` in afterAll; nothing starts when `unless` gives a reason (the file's tests are skipped). */
export function forFile<T>(what: string, start: () => Promise<T>, stop: (value: T) => Promise<void> | void, {unless}: {unless?: string | false} = {}): () => T {
  let value: T | undefined
  beforeAll(async () => {
    if (!unless) value = await start()
  })
  afterAll(async () => {
    if (value !== undefined) await stop(value)
    value = undefined
  })
  return () => {
    if (value === undefined) throw new Error(`${what} is started in beforeAll: use it inside a test or hook`)
    return value
  }
}

/** A throwaway HOME and XDG folders (isolatedHome) shared by the file's tests, removed after the last. */
export function homeForFile(): () => ReturnType<typeof isolatedHome> {
  return forFile('the home', async () => isolatedHome(), (home) => home.cleanup())
}

/** A throwaway HOME and XDG folders (isolatedHome) for each test, removed after it. */
export function homePerTest(): () => ReturnType<typeof isolatedHome> {
  let home: ReturnType<typeof isolatedHome> | undefined
  beforeEach(() => {
    home = isolatedHome()
  })
  afterEach(() => {
    home?.cleanup()
    home = undefined
  })
  return () => {
    if (!home) throw new Error('the home is made in beforeEach: use it inside a test')
    return home
  }
}

/** onramp's folders (resolvePaths) inside a fresh isolated home for each test (homePerTest), removed after it. */
export function pathsPerTest(): () => Paths {
  const home = homePerTest()
  return () => resolvePaths(home().env)
}
