import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {HEARTBEAT_MS, observe, ownerIsGone, type Observed} from '../../session/lock.js'
import {ok, shellQuote, warn, type Check} from '../types.js'

/** How long doctor watches a lock for its holder's heartbeat (a live holder touches it every HEARTBEAT_MS). */
const WATCH_MS = Math.round(2.5 * HEARTBEAT_MS)

/**
 * storage.locks: lock files left behind (`<state>/locks/*.lock`, `credentials.json.lock`) whose owner
 * is a dead process of this machine, that nothing keeps alive (no heartbeat while doctor watched), or
 * that belong to another user. No clock is compared with another: a lock's mtime is only compared with
 * itself a moment later. onramp breaks stale locks on its own after watching them; this says why a
 * command hung, and how to clear it now.
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
  const uid = process.getuid?.()
  const verdicts = new Map<string, string>()
  const watching = new Map<string, Observed>()
  for (const file of files) {
    const first = await look(file, uid)
    if (first === 'missing') continue
    if (typeof first === 'string') verdicts.set(file, first)
    else if (ownerIsGone(first.owner)) verdicts.set(file, `its owner (pid ${first.owner!.pid}) is no longer running`)
    else watching.set(file, first)
  }
  if (watching.size > 0) {
    await new Promise((resolve) => setTimeout(resolve, WATCH_MS))
    for (const [file, first] of watching) {
      const second = await look(file, uid)
      if (second === 'missing') continue // released while we watched
      if (typeof second === 'string') verdicts.set(file, second)
      else if (second.fingerprint !== first.fingerprint) verdicts.set(file, 'live')
      else {
        const from = first.owner && first.owner.host !== os.hostname() ? `, from host ${first.owner.host}` : ''
        verdicts.set(file, `no heartbeat in ${WATCH_MS / 1000} s, so no running onramp holds it${from}`)
      }
    }
  }
  const stale = [...verdicts].filter(([, verdict]) => verdict !== 'live')
  const live = verdicts.size - stale.length
  if (stale.length === 0) return [ok('storage', id, live > 0 ? `${live} lock file(s) held by running onramp processes` : 'no lock files')]
  return [
    warn(
      'storage',
      id,
      `${stale.length} stale or foreign lock file(s): ${stale.map(([file, verdict]) => `${path.basename(file)}: ${verdict}`).join('; ')}`,
      `rm ${stale.map(([file]) => shellQuote(file)).join(' ')}`,
    ),
  ]
}

/** The lock as a waiter sees it, or why it is not one of ours. */
async function look(file: string, uid: number | undefined): Promise<'missing' | string | Observed> {
  try {
    const stat = await fs.stat(file)
    if (uid !== undefined && stat.uid !== uid) return `owned by uid ${stat.uid}, not you`
    return (await observe(file)) ?? 'missing'
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `unreadable (${(error as NodeJS.ErrnoException).code})`
  }
}
