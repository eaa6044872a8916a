import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {UnexpectedError} from '../errors.js'
import {ensurePrivateDir} from '../fs-trust.js'
import {crypto} from '../lazy-crypto.js'

// Hand-written rather than proper-lockfile: that one has no owner record (a lock is a bare folder), so a
// SIGKILLed holder is only recovered after its mtime goes stale, never at once by a dead-pid check.

export interface LockOptions {
  /** Give up (exit 1, `lock_timeout`) after waiting this long. */
  timeoutMs?: number
  /** A lock older than this (by its claimed date or its mtime) is abandoned whoever holds it. */
  staleMs?: number
  /** A lock with no readable owner (left empty by a crash between create and write) is abandoned after this. */
  unreadableStaleMs?: number
  pollMs?: number
}

/** What the lock file holds: enough to tell whether its owner is still alive, and whether it is ours. */
interface LockOwner {
  pid: number
  host: string
  created: string
  nonce: string
}

/**
 * A cross-process lock: the file `lockPath`, created exclusively (`wx`), is the lock. Others poll
 * until it is released or stale (owner process gone, or older than staleMs). Used for credentials.json
 * read-modify-write and for refreshes (one refresh per credential identity at a time, client.md).
 */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const {timeoutMs = 30_000, staleMs = 60_000, unreadableStaleMs = 2_000, pollMs = 50} = options
  ensurePrivateDir(path.dirname(lockPath)) // a lock in a folder others can write could be held or faked by them
  const owner: LockOwner = {pid: process.pid, host: os.hostname(), created: new Date().toISOString(), nonce: crypto().randomBytes(16).toString('hex')}
  const deadline = Date.now() + timeoutMs
  let holder: LockOwner | undefined
  for (;;) {
    owner.created = new Date().toISOString()
    if (await tryCreate(lockPath, owner)) break
    const seen = await readOwner(lockPath)
    holder = seen.owner
    if (seen.exists && (await isStale(lockPath, seen, {staleMs, unreadableStaleMs}))) {
      await breakStale(lockPath, seen.raw)
      continue
    }
    if (Date.now() >= deadline) {
      const by = holder ? ` (held by process ${holder.pid} on ${holder.host} since ${holder.created})` : ''
      throw new UnexpectedError(
        `Timed out after ${Math.round(timeoutMs / 1000)} s waiting for the lock ${lockPath}${by}. ` +
          `If no other onramp command is running, delete that file and try again.`,
        {code: 'lock_timeout'},
      )
    }
    await sleep(pollMs)
  }
  try {
    return await fn()
  } finally {
    await release(lockPath, owner.nonce)
  }
}

/**
 * A lock file name for an identity (e.g. sessionKey: issuer + client id). Hashed so any issuer URL
 * becomes a short, filesystem-safe name and the identity itself is not written into a file name.
 */
export function lockPathFor({dir, identity}: {dir: string; identity: string}): string {
  const digest = crypto().createHash('sha256').update(identity).digest('hex').slice(0, 32)
  return path.join(dir, `${digest}.lock`)
}

async function tryCreate(lockPath: string, owner: LockOwner): Promise<boolean> {
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

interface Seen {
  exists: boolean
  raw: string
  owner: LockOwner | undefined
}

async function readOwner(lockPath: string): Promise<Seen> {
  try {
    const raw = await fs.readFile(lockPath, 'utf8')
    return {exists: true, raw, owner: parseOwner(raw)}
  } catch (error) {
    if (errno(error) === 'ENOENT') return {exists: false, raw: '', owner: undefined}
    throw error
  }
}

function parseOwner(raw: string): LockOwner | undefined {
  try {
    const value = JSON.parse(raw) as Partial<LockOwner>
    if (typeof value.pid === 'number' && typeof value.nonce === 'string') {
      return {pid: value.pid, host: String(value.host ?? ''), created: String(value.created ?? ''), nonce: value.nonce}
    }
  } catch {
    // Empty or half-written: its owner may be between open() and write(); judged by age below.
  }
  return undefined
}

async function isStale(lockPath: string, seen: Seen, {staleMs, unreadableStaleMs}: {staleMs: number; unreadableStaleMs: number}): Promise<boolean> {
  const modified = await mtime(lockPath)
  if (modified === undefined) return false // gone meanwhile: the next attempt creates it
  // The file's own mtime bounds its age whatever date it claims (a date in the future is never "fresh forever").
  if (Date.now() - modified > (seen.owner ? staleMs : unreadableStaleMs)) return true
  if (!seen.owner) return false // being written right now, or left empty: judged by mtime alone
  const created = Date.parse(seen.owner.created)
  if (!Number.isNaN(created) && Date.now() - created > staleMs) return true
  // A pid only means something on the machine that wrote it (a shared home over NFS has several).
  if (seen.owner.host === os.hostname()) return !isAlive(seen.owner.pid)
  return false
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
 * the slower one must not delete the lock the faster one has just taken. So the file is renamed
 * aside atomically, checked to be the stale one we read, and put back (link: never overwrites) if not.
 */
async function breakStale(lockPath: string, staleRaw: string): Promise<void> {
  const aside = `${lockPath}.${crypto().randomBytes(6).toString('hex')}.stale`
  try {
    await fs.rename(lockPath, aside)
  } catch (error) {
    if (errno(error) === 'ENOENT') return // someone else broke or released it
    throw error
  }
  const moved = await fs.readFile(aside, 'utf8').catch(() => staleRaw)
  if (moved !== staleRaw) await fs.link(aside, lockPath).catch(() => undefined)
  await fs.rm(aside, {force: true})
}

async function release(lockPath: string, nonce: string): Promise<void> {
  // Only ours: if it was broken as stale meanwhile, the file now belongs to someone else.
  const seen = await readOwner(lockPath).catch(() => undefined)
  if (seen?.owner?.nonce === nonce) await fs.rm(lockPath, {force: true}).catch(() => undefined)
}

async function mtime(file: string): Promise<number | undefined> {
  try {
    return (await fs.stat(file)).mtimeMs
  } catch {
    return undefined
  }
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
