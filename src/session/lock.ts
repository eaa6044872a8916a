import {promises as fs} from 'node:fs'
import path from 'node:path'

import {UnexpectedError} from '../errors.js'
import {ensurePrivateDir} from '../fs-trust.js'
import {crypto} from '../lazy-crypto.js'

// Hand-written rather than proper-lockfile: that one has no owner record (a lock is a bare folder), so a
// SIGKILLed holder is only recovered after its mtime goes stale, never at once by a dead-pid check; and it
// judges staleness by comparing the folder's mtime with this process's clock, which this lock never does.

/** How often a holder touches its lock file to show it is alive. */
export const HEARTBEAT_MS = 1000
/** How long a waiter watches a lock go untouched before it calls it abandoned (default of `staleMs`). */
export const DEFAULT_STALE_MS = 10_000

export interface LockOptions {
  /** Give up (exit 1, `lock_timeout`) after waiting this long (on this process's monotonic clock). Keep it above staleMs. */
  timeoutMs?: number
  /**
   * A lock this waiter has itself watched stay unchanged (no heartbeat) for this long is abandoned. Default
   * DEFAULT_STALE_MS, or ONRAMP_LOCK_STALE_MS from the environment.
   */
  staleMs?: number
  /** How often the holder touches the lock file (default HEARTBEAT_MS, or a fifth of staleMs if that is less); keep it well below staleMs. */
  heartbeatMs?: number
  pollMs?: number
}

/** What the lock file holds: enough to tell whether its owner is still alive, and whether it is ours. */
export interface LockOwner {
  pid: number
  host: string
  /** This holder's own clock, for people reading the file: never compared with anything. */
  created: string
  nonce: string
}

/**
 * A cross-process lock: the file `lockPath`, created atomically with its owner record inside, is the lock.
 * The holder touches it every `heartbeatMs` while it holds it. A waiter polls; it breaks the lock at once
 * when its owner is a process of this machine that is gone, or once it has itself watched the file stay
 * unchanged for `staleMs` on its own monotonic clock. No clock is ever compared with another (not the
 * file's mtime with this process's time, not the owner's date with ours): clocks of processes (faketime,
 * a drifted VM) and of file systems (an NFS server) may be hours apart. A holder that keeps beating is
 * never evicted, however long its work takes. Each holder also removes what processes of this machine
 * that are gone left in the folder (a waiter's owner record, a lock set aside). Used for credentials.json read-modify-write and for
 * refreshes (one refresh per credential identity at a time, client.md).
 */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const {timeoutMs = 30_000, staleMs = defaultStaleMs(), pollMs = 50} = options
  // At least five beats per stale limit, so a waiter never mistakes a slow beat for an abandoned lock.
  const heartbeatMs = options.heartbeatMs ?? Math.min(HEARTBEAT_MS, Math.max(20, Math.floor(staleMs / 5)))
  ensurePrivateDir(path.dirname(lockPath)) // a lock in a folder others can write could be held or faked by them
  const owner: LockOwner = {pid: process.pid, host: hostname(), created: new Date().toISOString(), nonce: crypto().randomBytes(16).toString('hex')}
  const started = monotonicMs()
  let watched: {fingerprint: string; since: number} | undefined
  let holder: LockOwner | undefined
  let beating = false
  const candidate = await prepare(lockPath, owner)
  try {
    for (;;) {
      if (await candidate.tryCreate()) break
      const seen = await observe(lockPath)
      if (!seen) continue // released meanwhile: try again at once
      holder = seen.owner
      const now = monotonicMs()
      if (watched?.fingerprint !== seen.fingerprint) {
        if (watched) beating = true // changed while we watched: someone keeps it alive
        watched = {fingerprint: seen.fingerprint, since: now}
      }
      if (ownerIsGone(seen.owner) || now - watched.since >= staleMs) {
        await breakStale(lockPath, seen)
        watched = undefined
        continue
      }
      if (now - started >= timeoutMs) {
        const by = holder ? ` (held by process ${holder.pid} on ${holder.host})` : ''
        const alive = beating ? ', which its holder keeps alive' : ''
        throw new UnexpectedError(
          `Timed out after ${Math.round(timeoutMs / 1000)} s waiting for the lock ${lockPath}${by}${alive}. ` +
            `If no other onramp command is running, delete that file and try again.`,
          {code: 'lock_timeout'},
        )
      }
      await sleep(pollMs)
    }
  } finally {
    await candidate.discard()
  }
  const heartbeat = startHeartbeat(lockPath, owner.nonce, heartbeatMs)
  // Beside fn, not before it: what a killed waiter or breaker left in this folder costs the holder no time.
  const sweeping = sweepLeftovers(path.dirname(lockPath)).catch(() => undefined)
  try {
    return await fn()
  } finally {
    await heartbeat.stop()
    await release(lockPath, owner.nonce)
    await sweeping
  }
}

/** `<lock>.<nonce>.new` (an owner record, prepare) and `<lock>.<random>.stale` (a lock moved aside, breakStale). */
const LEFTOVER = /\.[0-9a-f]{12,32}\.(new|stale)$/

/**
 * Removes the owner records and set-aside locks that processes killed while waiting for (or breaking) a
 * lock in `dir` left behind: only those whose owner record names a process of this machine that is gone
 * (a live waiter's record is its own; another machine's pid cannot be judged here). Returns the paths removed.
 */
export async function sweepLeftovers(dir: string): Promise<string[]> {
  const removed: string[] = []
  for (const name of await fs.readdir(dir)) {
    if (!LEFTOVER.test(name)) continue
    const file = path.join(dir, name)
    const seen = await observe(file).catch(() => undefined)
    if (!seen || !ownerIsGone(seen.owner)) continue
    await fs.rm(file, {force: true})
    removed.push(file)
  }
  return removed
}

/**
 * A lock file name for an identity (e.g. sessionKey: issuer + client id). Hashed so any issuer URL
 * becomes a short, filesystem-safe name and the identity itself is not written into a file name.
 */
export function lockPathFor({dir, identity}: {dir: string; identity: string}): string {
  const digest = crypto().createHash('sha256').update(identity).digest('hex').slice(0, 32)
  return path.join(dir, `${digest}.lock`)
}

/** Milliseconds on this process's monotonic clock: never set, never shifted, meaningless across processes. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n)
}

/** A parsed lock file owner, or undefined for an empty, half-written or foreign file. */
export function parseOwner(raw: string): LockOwner | undefined {
  try {
    const value = JSON.parse(raw) as Partial<LockOwner>
    if (typeof value.pid === 'number' && typeof value.nonce === 'string') {
      return {pid: value.pid, host: String(value.host ?? ''), created: String(value.created ?? ''), nonce: value.nonce}
    }
  } catch {
    // Empty or not ours: judged by watching it, like any other
  }
  return undefined
}

/** True when the owner is a process of this machine that no longer runs (a pid means nothing on another host). */
export function ownerIsGone(owner: LockOwner | undefined): boolean {
  return owner !== undefined && owner.host === hostname() && !isAlive(owner.pid)
}

export interface Observed {
  raw: string
  owner: LockOwner | undefined
  mtimeMs: number
  /** Changes whenever the file is touched, rewritten or replaced: what a waiter watches. */
  fingerprint: string
}

/**
 * Reads the lock file and its attributes through one open handle (on NFS, open revalidates the cached
 * attributes, so a heartbeat from another machine is seen). Undefined when there is no lock file.
 */
export async function observe(lockPath: string): Promise<Observed | undefined> {
  let handle: fs.FileHandle
  try {
    handle = await fs.open(lockPath, 'r')
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined
    throw error
  }
  try {
    const raw = await handle.readFile('utf8')
    const stat = await handle.stat({bigint: true})
    return {raw, owner: parseOwner(raw), mtimeMs: Number(stat.mtimeNs / 1_000_000n), fingerprint: `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}:${raw}`}
  } finally {
    await handle.close()
  }
}

/**
 * Creates the lock with its owner already inside: the record is written once to a private file beside
 * it, then each attempt hard-links that file to the lock's name, which fails if the lock exists. No one
 * ever sees a lock without an owner. Where hard links are not supported, an exclusive create followed
 * by the write.
 */
async function prepare(lockPath: string, owner: LockOwner): Promise<{tryCreate: () => Promise<boolean>; discard: () => Promise<void>}> {
  const record = `${lockPath}.${owner.nonce}.new`
  try {
    await fs.writeFile(record, JSON.stringify(owner), {mode: 0o600, flag: 'wx'})
  } catch (error) {
    await fs.rm(record, {force: true}).catch(() => undefined) // a half-written record is nobody's lock
    throw error
  }
  let linkable = true
  return {
    tryCreate: async () => {
      if (!linkable) return createExclusive(lockPath, owner)
      try {
        await fs.link(record, lockPath)
        return true
      } catch (error) {
        if (errno(error) === 'EEXIST') return false
        if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'].includes(errno(error) ?? '')) throw error
        linkable = false
        return createExclusive(lockPath, owner)
      }
    },
    discard: () => fs.rm(record, {force: true}),
  }
}

async function createExclusive(lockPath: string, owner: LockOwner): Promise<boolean> {
  let handle: fs.FileHandle
  try {
    handle = await fs.open(lockPath, 'wx', 0o600)
  } catch (error) {
    if (errno(error) === 'EEXIST') return false
    throw error
  }
  try {
    await handle.writeFile(JSON.stringify(owner))
  } catch (error) {
    // An empty lock would block everyone until judged stale: remove what could not be written.
    await handle.close().catch(() => undefined)
    await fs.rm(lockPath, {force: true}).catch(() => undefined)
    throw error
  }
  await handle.close()
  return true
}

/**
 * Touches the lock file every `intervalMs` while it is ours (the mtime value is only ever compared with
 * itself, by waiters watching for a change). Stops on its own if the lock was taken from us.
 */
function startHeartbeat(lockPath: string, nonce: string, intervalMs: number): {stop: () => Promise<void>} {
  let beating: Promise<void> | undefined
  let stopped = false
  const beat = async () => {
    const seen = await observe(lockPath).catch(() => undefined)
    if (stopped) return
    if (seen?.owner?.nonce !== nonce) {
      stopped = true // broken while we held it (this process was stopped longer than staleMs): nothing left to keep alive
      return
    }
    const now = new Date()
    await fs.utimes(lockPath, now, now).catch(() => undefined)
  }
  const timer = setInterval(() => {
    if (stopped || beating) return
    beating = beat().finally(() => (beating = undefined))
  }, intervalMs)
  timer.unref()
  return {
    stop: async () => {
      stopped = true
      clearInterval(timer)
      await beating
    },
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0) // signal 0: existence check only
    return true
  } catch (error) {
    return errno(error) !== 'ESRCH' // EPERM: alive, owned by another user
  }
}

/**
 * Removes a stale lock without removing a fresh one: two waiters may judge the same lock stale, and
 * the slower one must not delete the lock the faster one has just taken; nor may a holder that beat
 * just now lose its lock. So the file is renamed aside atomically, checked to be the one we watched
 * (same owner record, same mtime), and put back (link: never overwrites) if not.
 */
async function breakStale(lockPath: string, stale: Observed): Promise<void> {
  const aside = `${lockPath}.${crypto().randomBytes(6).toString('hex')}.stale`
  try {
    await fs.rename(lockPath, aside)
  } catch (error) {
    if (errno(error) === 'ENOENT') return // someone else broke or released it
    throw error
  }
  const moved = await observe(aside).catch(() => undefined)
  if (moved && (moved.raw !== stale.raw || moved.mtimeMs !== stale.mtimeMs)) await fs.link(aside, lockPath).catch(() => undefined)
  await fs.rm(aside, {force: true})
}

async function release(lockPath: string, nonce: string): Promise<void> {
  // Only ours: if it was broken as stale meanwhile, the file now belongs to someone else.
  const seen = await observe(lockPath).catch(() => undefined)
  if (seen?.owner?.nonce === nonce) await fs.rm(lockPath, {force: true}).catch(() => undefined)
}

/**
 * ONRAMP_LOCK_STALE_MS (a file system whose attributes lag, or a test of a slow holder; every process
 * sharing the locks should have the same value), else DEFAULT_STALE_MS.
 */
function defaultStaleMs(): number {
  const value = Number(process.env.ONRAMP_LOCK_STALE_MS)
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_STALE_MS
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** This machine's name, in lock owner records. node:os loads on use: `onramp token` with a fresh session takes no lock. */
function hostname(): string {
  return process.getBuiltinModule('node:os').hostname()
}
