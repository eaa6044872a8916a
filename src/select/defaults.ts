import fs from 'node:fs'
import path from 'node:path'

import {UnexpectedError} from '../errors.js'
import {assertPrivateDir, assertPrivateFile, ensurePrivateDir} from '../fs-trust.js'

/**
 * `<config dir>/defaults.json`, written only by `onramp switch`: the default account per server, and the
 * server switched to last (used when nothing else chooses one and sessions span several servers).
 * `{"version":1,"server":"https://…","accounts":{"https://…":"you@example.com"}}`. Holds no secret.
 * It is the lowest choice but the only session: flags, environment variables and `.onramp.json` win
 * over it, so a terminal or a project that chose never depends on it.
 */
export interface Defaults {
  server: string | null
  accounts: Record<string, string>
}

export const DEFAULTS_VERSION = 1

export function defaultsFile(configDir: string): string {
  return path.join(configDir, 'defaults.json')
}

export function readDefaults(configDir: string): Defaults {
  const file = defaultsFile(configDir)
  assertPrivateDir(configDir)
  if (!assertPrivateFile(file)) return {server: null, accounts: {}}
  let data: unknown
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (error) {
    throw corrupt(file, (error as Error).message)
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw corrupt(file, 'not a JSON object')
  const {version, server, accounts} = data as Record<string, unknown>
  if (version !== DEFAULTS_VERSION) throw corrupt(file, `format version ${String(version)} is not ${DEFAULTS_VERSION}`)
  if (server !== null && server !== undefined && typeof server !== 'string') throw corrupt(file, '"server" is not a string')
  if (typeof accounts !== 'object' || accounts === null || Array.isArray(accounts) || !Object.values(accounts).every((value) => typeof value === 'string')) {
    throw corrupt(file, '"accounts" is not an object of strings')
  }
  return {server: (server as string | undefined) ?? null, accounts: {...(accounts as Record<string, string>)}}
}

/** Read-modify-write under a lock with an atomic rename: two terminals switching at once both land whole. */
export async function updateDefaults(configDir: string, change: (defaults: Defaults) => void): Promise<Defaults> {
  const [{withLock}, {writeFileAtomic}] = await Promise.all([import('../session/lock.js'), import('../fs-atomic.js')])
  const file = defaultsFile(configDir)
  ensurePrivateDir(configDir)
  return withLock(`${file}.lock`, async () => {
    const defaults = readDefaults(configDir)
    change(defaults)
    await writeFileAtomic(file, JSON.stringify({version: DEFAULTS_VERSION, ...defaults}, null, 2) + '\n')
    return defaults
  })
}

function corrupt(file: string, why: string): UnexpectedError {
  return new UnexpectedError(`The defaults file ${file} is unusable (${why}). Remove it (rm "${file}") and run onramp switch again.`, {code: 'defaults_corrupt'})
}
