import fs from 'node:fs'
import path from 'node:path'

import {isValidEmail} from '../email.js'
import {UsageError} from '../errors.js'
import {issuerFromHost} from '../select-server.js'

/** The directory file: which server, app and account the commands run below it use. */
export const ONRAMP_FILE = '.onramp.json'

/** The only keys it may hold; none is a secret, so the file is safe to commit. */
export const ONRAMP_FILE_KEYS = ['host', 'region', 'client_id', 'account'] as const

/** Larger is not a settings file: refused rather than read. */
const MAX_BYTES = 16 * 1024

export interface OnrampFile {
  /** Absolute path of the file that chose. */
  path: string
  host?: string
  region?: 'us' | 'eu'
  client_id?: string
  /** An email, lower-cased (accounts are compared that way). */
  account?: string
}

/**
 * The nearest `.onramp.json` in `cwd` or a folder above it (like .npmrc or .nvmrc: the project's
 * folder chooses for every command run below it), read and checked; undefined when there is none.
 * Any problem (not JSON, an unknown key, a bad value) is a usage error naming the file's path: a
 * typo must not silently send a command to another server or account.
 */
export function findOnrampFile(cwd: string): OnrampFile | undefined {
  let dir = path.resolve(cwd)
  for (;;) {
    const candidate = path.join(dir, ONRAMP_FILE)
    if (exists(candidate)) return readOnrampFile(candidate)
    const parent = path.dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

function exists(file: string): boolean {
  try {
    // Missing (ENOENT, ENOTDIR) answers undefined rather than throwing: most folders up to / have no such file,
    // and an error object each cost `onramp token` a tenth of a millisecond per folder.
    return fs.lstatSync(file, {throwIfNoEntry: false}) !== undefined
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // A folder we may not look into: as if there were none, rather than failing every command.
    if (code === 'EACCES' || code === 'EPERM') return false
    throw error
  }
}

export function readOnrampFile(file: string): OnrampFile {
  const refuse = (why: string, fix = `Fix or remove ${file}.`) => new UsageError(`${file}: ${why}. ${fix}`, {code: 'onramp_file_invalid'})
  let text: string
  try {
    const stat = fs.statSync(file)
    if (!stat.isFile()) throw refuse('it is not a file')
    if (stat.size > MAX_BYTES) throw refuse(`it is ${stat.size} bytes; a settings file of a few keys is expected`)
    text = fs.readFileSync(file, 'utf8')
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw refuse(`it cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw refuse(`it is not valid JSON (${(error as Error).message})`)
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw refuse('it must be a JSON object, e.g. {"host": "https://posthog.example.com", "account": "you@example.com"}')
  const record = data as Record<string, unknown>
  const allowed = ONRAMP_FILE_KEYS as readonly string[]
  const unknown = Object.keys(record).filter((key) => !allowed.includes(key))
  if (unknown.length > 0) {
    throw refuse(`unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => JSON.stringify(key)).join(', ')}`, `It may hold only ${ONRAMP_FILE_KEYS.join(', ')} (never a token).`)
  }
  const text_ = (key: string): string | undefined => {
    const value = record[key]
    if (value === undefined) return undefined
    // eslint-disable-next-line no-control-regex -- control characters are what is refused
    if (typeof value !== 'string' || value.trim() === '' || /[\u0000-\u001f\u007f\s]/.test(value)) throw refuse(`"${key}" must be a non-empty string without spaces`)
    return value
  }
  const result: OnrampFile = {path: file}
  const host = text_('host')
  const region = text_('region')
  if (host !== undefined && region !== undefined) throw refuse('it sets both "host" and "region"; keep one')
  if (host !== undefined) {
    try {
      issuerFromHost(host)
    } catch (error) {
      throw refuse(`"host": ${(error as Error).message}`)
    }
    result.host = host
  }
  if (region !== undefined) {
    if (region !== 'us' && region !== 'eu') throw refuse(`"region" is "${region}"; use "us" or "eu" (or "host" for another server)`)
    result.region = region
  }
  const clientId = text_('client_id')
  if (clientId !== undefined) result.client_id = clientId
  const account = text_('account')
  if (account !== undefined) {
    if (!isValidEmail(account)) throw refuse(`"account" is "${account.slice(0, 100)}"; use the account's email, e.g. "you@example.com"`)
    result.account = account.toLowerCase()
  }
  return result
}
