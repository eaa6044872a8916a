import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {ok, shellQuote, warn, type Check} from '../types.js'

/** A lock older than this is abandoned whatever it claims: no refresh or store write takes that long. */
const STALE_MS = 2 * 60 * 1000

/**
 * storage.locks: lock files left behind (`<state>/locks/*.lock`, `credentials.json.lock`) whose owner
 * is dead, that are older than 2 min, or that belong to another user. onramp breaks stale locks on
 * its own after waiting; this says why a command hung, and how to clear it now.
 */
export const checkLocks: Check = async (ctx) => {
  const id = 'storage.locks'
  const locksDir = path.join(ctx.deps.paths.state, 'locks')
  const files = [path.join(ctx.deps.paths.config, 'credentials.json.lock')]
  try {
    for (const name of await fs.readdir(locksDir)) if (name.endsWith('.lock')) files.push(path.join(locksDir, name))
  } catch {
    // no locks folder: nothing was ever locked
  }
  const now = ctx.deps.now().getTime()
  const uid = process.getuid?.()
  const stale: string[] = []
  const reasons: string[] = []
  let live = 0
  for (const file of files) {
    const verdict = await judge(file, now, uid)
    if (verdict === 'missing') continue
    if (verdict === 'live') {
      live++
      continue
    }
    stale.push(file)
    reasons.push(`${path.basename(file)}: ${verdict}`)
  }
  if (stale.length === 0) return [ok('storage', id, live > 0 ? `${live} lock file(s) held by running onramp processes` : 'no lock files')]
  return [warn('storage', id, `${stale.length} stale or foreign lock file(s): ${reasons.join('; ')}`, `rm ${stale.map(shellQuote).join(' ')}`)]
}

async function judge(file: string, now: number, uid: number | undefined): Promise<'missing' | 'live' | string> {
  let raw: string
  let stat
  try {
    stat = await fs.stat(file)
    raw = await fs.readFile(file, 'utf8')
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `unreadable (${(error as NodeJS.ErrnoException).code})`
  }
  if (uid !== undefined && stat.uid !== uid) return `owned by uid ${stat.uid}, not you`
  let owner: {pid?: unknown; host?: unknown; created?: unknown} = {}
  try {
    owner = JSON.parse(raw) as typeof owner
  } catch {
    // empty or half-written: judged by age alone
  }
  const created = typeof owner.created === 'string' ? Date.parse(owner.created) : NaN
  // The earlier of the claimed date and the mtime: a date in the future cannot keep a lock alive.
  const since = Number.isNaN(created) ? stat.mtimeMs : Math.min(Math.max(created, 0), stat.mtimeMs)
  const age = now - since
  if (typeof owner.pid === 'number' && owner.host === os.hostname() && !isAlive(owner.pid)) return `its owner (pid ${owner.pid}) is no longer running`
  if (age > STALE_MS) return `${Math.round(age / 1000)} s old${typeof owner.host === 'string' && owner.host !== os.hostname() ? `, from host ${owner.host}` : ''}`
  return 'live'
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0) // signal 0: an existence check only
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH' // EPERM: alive, another user's
  }
}
