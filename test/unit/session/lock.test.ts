import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {OnrampError} from '../../../src/errors.js'
import {lockPathFor, monotonicMs, observe, withLock} from '../../../src/session/lock.js'
import {runChildrenTogether} from '../../fixtures/run-children.js'
import {CLOCK_OFFSETS, faketimeEnv, faketimeUnavailable, OFFSET_MS, type ClockOffset} from '../../support/faketime.js'
import {itUnless, POSIX_ONLY} from '../../support/skip.js'
import {waitFor} from '../../support/wait-for.js'

let dir: string
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-lock-'))
})
afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
  for (const holder of holders.splice(0)) holder.kill('SIGKILL')
  fs.rmSync(dir, {recursive: true, force: true})
})

const ROOT = path.resolve(import.meta.dirname, '../../..')
const holders: ChildProcess[] = []

/** Another process that takes the lock, beating every heartbeatMs, under a clock shifted by `offset`; resolves once it holds it. */
async function startHolder(lockPath: string, {heartbeatMs, offset}: {heartbeatMs?: number; offset?: ClockOffset} = {}): Promise<ChildProcess> {
  const env = {...process.env, ...(offset ? faketimeEnv(offset) : {})}
  delete env.NODE_ENV
  const args = ['--import', 'tsx', path.join(ROOT, 'test', 'fixtures', 'session-child.ts'), 'hold', lockPath, ...(heartbeatMs ? [String(heartbeatMs)] : [])]
  const child = spawn(process.execPath, args, {cwd: ROOT, env, stdio: ['pipe', 'pipe', 'inherit']})
  holders.push(child)
  let out = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('ready\n') && !out.includes('sent')) {
        out += 'sent'
        child.stdin!.write('go\n')
      }
      if (out.includes('locked\n')) resolve()
    })
    child.on('exit', (code) => reject(new Error(`holder exited early with ${code}`)))
  })
  return child
}

async function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill(signal)
  await exited
}

/**
 * The stale limit where a test shows a live holder is NOT evicted: ten beats, so a holder starved of CPU
 * for a moment on a loaded machine is still seen beating. (Where a test shows a lock IS broken after
 * staleMs, a short limit is safe: a stall only makes that later.)
 */
const LIVE_STALE_MS = 1000
const BEAT_MS = 100

/** A pid that lives through the test (vitest's own process) but never heartbeats any lock. */
const LIVE_PID = process.ppid

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A pid that certainly belonged to a process which has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''])
  return child.pid ?? 0x3fffffff
}

/** Every "in" is followed by the same pid's "out" before anyone else's "in". */
function expectNoOverlap(lines: string[]): void {
  expect(lines.length % 2).toBe(0)
  for (let i = 0; i < lines.length; i += 2) {
    const [pidIn, what] = lines[i]!.split(' ')
    expect(what).toBe('in')
    expect(lines[i + 1]).toBe(`${pidIn} out`)
  }
}

describe('withLock', () => {
  it('returns the result, creates the folder, and removes the lock afterwards', async () => {
    const lockPath = path.join(dir, 'locks', 'a.lock')
    await expect(withLock(lockPath, async () => 42)).resolves.toBe(42)
    expect(fs.existsSync(lockPath)).toBe(false)
  })

  it('releases the lock when fn throws', async () => {
    const lockPath = path.join(dir, 'a.lock')
    await expect(withLock(lockPath, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(fs.existsSync(lockPath)).toBe(false)
  })

  it('excludes concurrent async callers in one process', async () => {
    const lockPath = path.join(dir, 'a.lock')
    const journal: string[] = []
    let inside = 0
    let most = 0
    await Promise.all(
      Array.from({length: 5}, (_, n) =>
        withLock(
          lockPath,
          async () => {
            inside++
            most = Math.max(most, inside)
            journal.push(`${n} in`)
            await sleep(10)
            journal.push(`${n} out`)
            inside--
          },
          {pollMs: 2},
        ),
      ),
    )
    expect(most).toBe(1)
    expectNoOverlap(journal)
  })

  it('excludes two real processes', async () => {
    const lockPath = path.join(dir, 'shared.lock')
    const journal = path.join(dir, 'journal.txt')
    await runChildrenTogether([
      ['lock', lockPath, journal, '5', '15'],
      ['lock', lockPath, journal, '5', '15'],
    ])
    const lines = fs.readFileSync(journal, 'utf8').trim().split('\n')
    expect(lines).toHaveLength(20)
    expect(new Set(lines.map((line) => line.split(' ')[0])).size).toBe(2)
    expectNoOverlap(lines)
    expect(fs.existsSync(lockPath)).toBe(false)
  })

  it('never shows a lock without its owner record, however many callers race for it', async () => {
    const lockPath = path.join(dir, 'a.lock')
    let reads = 0
    let ownerless = 0
    let racing = true
    const watcher = (async () => {
      while (racing) {
        const seen = await observe(lockPath)
        if (seen) {
          reads++
          if (!seen.owner) ownerless++
        }
        await new Promise((resolve) => setImmediate(resolve))
      }
    })()
    await Promise.all(Array.from({length: 8}, () => withLock(lockPath, async () => sleep(5), {pollMs: 2})))
    racing = false
    await watcher
    expect(reads).toBeGreaterThan(0)
    expect(ownerless).toBe(0)
    expect(fs.readdirSync(dir)).toEqual([]) // no owner records or set-aside files left behind
  })

  it('touches its lock file while it holds it (the heartbeat waiters watch)', async () => {
    const lockPath = path.join(dir, 'a.lock')
    await withLock(
      lockPath,
      async () => {
        const first = (await observe(lockPath))!
        let now = first
        while (now.fingerprint === first.fingerprint) {
          await sleep(10)
          now = (await observe(lockPath))!
        }
        expect(now.owner).toEqual(first.owner)
        expect(now.mtimeMs).not.toBe(first.mtimeMs)
      },
      {heartbeatMs: 20},
    )
  })

  it('breaks at once a lock whose owner is a dead process of this machine', async () => {
    const lockPath = path.join(dir, 'a.lock')
    fs.writeFileSync(lockPath, JSON.stringify({pid: deadPid(), host: os.hostname(), created: new Date().toISOString(), nonce: 'old'}))
    // Well inside staleMs: only the dead-pid check lets this through.
    await expect(withLock(lockPath, async () => 'got it', {timeoutMs: 5000, staleMs: 60_000})).resolves.toBe('got it')
    expect(fs.existsSync(lockPath)).toBe(false)
  })

  it('recovers at once from a holder killed with SIGKILL', async () => {
    const lockPath = path.join(dir, 'a.lock')
    await kill(await startHolder(lockPath))
    expect(fs.existsSync(lockPath)).toBe(true) // the killed holder could not clean up
    await expect(withLock(lockPath, async () => 'recovered', {timeoutMs: 5000, staleMs: 60_000})).resolves.toBe('recovered')
  })

  it('never evicts a live holder that beats, however long past staleMs it holds the lock', async () => {
    const lockPath = path.join(dir, 'a.lock')
    await startHolder(lockPath, {heartbeatMs: BEAT_MS})
    const held = fs.readFileSync(lockPath, 'utf8')
    const started = monotonicMs()
    const error = await withLock(lockPath, async () => 'evicted it', {staleMs: LIVE_STALE_MS, timeoutMs: 3 * LIVE_STALE_MS, pollMs: 20}).catch((caught: unknown) => caught)
    expect(error).toMatchObject({code: 'lock_timeout', exit: 1})
    expect((error as Error).message).toMatch(/which its holder keeps alive/)
    expect(monotonicMs() - started).toBeGreaterThanOrEqual(3 * LIVE_STALE_MS) // three times staleMs, watched all along
    expect(fs.readFileSync(lockPath, 'utf8')).toBe(held)
  })

  it('breaks a lock nobody keeps alive once it has watched it unchanged for staleMs, whatever date it claims (2099, live pid)', async () => {
    const lockPath = path.join(dir, 'a.lock')
    fs.writeFileSync(lockPath, JSON.stringify({pid: LIVE_PID, host: os.hostname(), created: '2099-01-01T00:00:00.000Z', nonce: 'future'}))
    const future = new Date('2099-01-01T00:00:00Z')
    fs.utimesSync(lockPath, future, future)
    const started = monotonicMs()
    await expect(withLock(lockPath, async () => 'got it', {staleMs: 400, timeoutMs: 20_000, pollMs: 20})).resolves.toBe('got it')
    expect(monotonicMs() - started).toBeGreaterThanOrEqual(400)
    // ...and the next run does not wait at all: the abandoned lock is gone.
    await expect(withLock(lockPath, async () => 'at once', {staleMs: 60_000, timeoutMs: 200})).resolves.toBe('at once')
  })

  it('does not call a lock stale because its mtime is hours old: age is never read from a clock', async () => {
    const lockPath = path.join(dir, 'a.lock')
    fs.writeFileSync(lockPath, JSON.stringify({pid: LIVE_PID, host: os.hostname(), created: new Date(Date.now() - 2 * 3600_000).toISOString(), nonce: 'old'}))
    const past = new Date(Date.now() - 2 * 3600_000)
    fs.utimesSync(lockPath, past, past)
    await expect(withLock(lockPath, async () => 1, {staleMs: 60_000, timeoutMs: 300, pollMs: 20})).rejects.toMatchObject({code: 'lock_timeout'})
    expect(fs.existsSync(lockPath)).toBe(true)
  })

  it('judges a lock with no readable owner the same way: waited on while watched for less than staleMs, then broken', async () => {
    const lockPath = path.join(dir, 'a.lock')
    fs.writeFileSync(lockPath, '') // as left by an older onramp killed between create and write
    await expect(withLock(lockPath, async () => 1, {staleMs: 60_000, timeoutMs: 300, pollMs: 20})).rejects.toMatchObject({code: 'lock_timeout'})
    await expect(withLock(lockPath, async () => 2, {staleMs: 300, timeoutMs: 20_000, pollMs: 20})).resolves.toBe(2)
  })

  it('does not break an ownerless lock that something keeps touching', async () => {
    const lockPath = path.join(dir, 'a.lock')
    fs.writeFileSync(lockPath, '')
    const toucher = setInterval(() => {
      const now = new Date()
      fs.utimesSync(lockPath, now, new Date(now.getTime() + Math.random() * 1000))
    }, BEAT_MS)
    try {
      await expect(withLock(lockPath, async () => 1, {staleMs: LIVE_STALE_MS, timeoutMs: 3 * LIVE_STALE_MS, pollMs: 20})).rejects.toMatchObject({code: 'lock_timeout'})
    } finally {
      clearInterval(toucher)
    }
  })

  it('leaves nothing behind when its owner record cannot be written', async () => {
    const lockPath = path.join(dir, 'a.lock')
    const realWriteFile = fsp.writeFile
    vi.spyOn(fsp, 'writeFile').mockImplementation(async (...args: Parameters<typeof fsp.writeFile>) => {
      if (String(args[0]).startsWith(lockPath)) {
        await realWriteFile(args[0], '{"pid":')
        throw Object.assign(new Error('ENOSPC: no space left on device'), {code: 'ENOSPC'})
      }
      return realWriteFile(...args)
    })
    await expect(withLock(lockPath, async () => 1)).rejects.toThrow('ENOSPC')
    expect(fs.readdirSync(dir)).toEqual([])
  })

  describe.each(CLOCK_OFFSETS)('with clocks %s apart', (offset) => {

    itUnless(faketimeUnavailable())(`a holder whose process clock is ${offset} off the file system's is never evicted while it beats, and is replaced at once when it dies`, async () => {
      const lockPath = path.join(dir, 'a.lock')
      const holder = await startHolder(lockPath, {heartbeatMs: BEAT_MS, offset})
      await expect(withLock(lockPath, async () => 'evicted', {staleMs: LIVE_STALE_MS, timeoutMs: 3 * LIVE_STALE_MS, pollMs: 20})).rejects.toMatchObject({code: 'lock_timeout'})
      await kill(holder)
      await expect(withLock(lockPath, async () => 'after it', {staleMs: 60_000, timeoutMs: 5000})).resolves.toBe('after it')
    }, 30_000)

    it(`a waiter whose own clock is ${offset} off waits for a live holder and takes an abandoned lock only after watching it for staleMs`, async () => {
      vi.useFakeTimers({toFake: ['Date']})
      vi.setSystemTime(Date.now() + OFFSET_MS[offset])
      const lockPath = path.join(dir, 'a.lock')
      await startHolder(lockPath, {heartbeatMs: BEAT_MS})
      await expect(withLock(lockPath, async () => 'evicted', {staleMs: LIVE_STALE_MS, timeoutMs: 3 * LIVE_STALE_MS, pollMs: 20})).rejects.toMatchObject({code: 'lock_timeout'})
      const abandoned = path.join(dir, 'b.lock')
      fs.writeFileSync(abandoned, JSON.stringify({pid: LIVE_PID, host: os.hostname(), created: new Date().toISOString(), nonce: 'gone quiet'}))
      await expect(withLock(abandoned, async () => 1, {staleMs: 60_000, timeoutMs: 300, pollMs: 20})).rejects.toMatchObject({code: 'lock_timeout'})
      await expect(withLock(abandoned, async () => 2, {staleMs: 300, timeoutMs: 20_000, pollMs: 20})).resolves.toBe(2)
    }, 30_000)
  })

  itUnless(POSIX_ONLY)('refuses a locks folder others can write', async () => {
    const locks = path.join(dir, 'locks')
    fs.mkdirSync(locks)
    fs.chmodSync(locks, 0o777)
    await expect(withLock(path.join(locks, 'a.lock'), async () => 1)).rejects.toMatchObject({code: 'untrusted_path'})
  })

  it('times out with lock_timeout naming the lock file, leaving a live lock alone', async () => {
    const lockPath = path.join(dir, 'a.lock')
    const held = JSON.stringify({pid: process.ppid, host: os.hostname(), created: new Date().toISOString(), nonce: 'theirs'})
    fs.writeFileSync(lockPath, held)
    const error = await withLock(lockPath, async () => 1, {timeoutMs: 200, pollMs: 20}).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OnrampError)
    expect(error).toMatchObject({code: 'lock_timeout', exit: 1})
    expect((error as Error).message).toContain(lockPath)
    expect((error as Error).message).not.toMatch(/keeps alive/) // nothing touched it while we waited
    expect(fs.readFileSync(lockPath, 'utf8')).toBe(held)
  })

  it('a waiter killed while waiting leaves its owner record behind; the next holder removes it, and leaves a live waiter\'s alone', async () => {
    const lockPath = path.join(dir, 'a.lock')
    const records = () => fs.readdirSync(dir).filter((name) => name.endsWith('.new'))
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let holding!: () => void
    const held = new Promise<void>((resolve) => (holding = resolve))
    const holder = withLock(lockPath, async () => {
      holding()
      await gate
    })
    await held
    // A real process waits for the lock we hold: its owner record sits beside the lock while it waits.
    const waiter = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'fixtures', 'session-child.ts'), 'lock', lockPath, path.join(dir, 'journal'), '1', '0'], {
      cwd: ROOT,
      env: {...process.env, NODE_ENV: undefined},
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    holders.push(waiter)
    await new Promise<void>((resolve) => waiter.stdout!.once('data', () => resolve())) // "ready"
    waiter.stdin!.write('go\n')
    await waitFor('the waiter\'s owner record', () => records().length === 1)
    const [record] = records()
    expect(JSON.parse(fs.readFileSync(path.join(dir, record!), 'utf8'))).toMatchObject({pid: waiter.pid, host: os.hostname()})
    await kill(waiter)
    expect(records()).toEqual([record]) // SIGKILL: it could not clean up
    // A live waiter's record (this process's pid) is never touched.
    const live = `a.lock.${'0'.repeat(32)}.new`
    fs.writeFileSync(path.join(dir, live), JSON.stringify({pid: process.pid, host: os.hostname(), created: '', nonce: '0'.repeat(32)}))
    release()
    await holder
    // The next holder sweeps what gone processes left.
    await expect(withLock(lockPath, async () => 'next')).resolves.toBe('next')
    expect(records()).toEqual([live])
    expect(fs.existsSync(lockPath)).toBe(false)
  }, 30_000)

  it('a lock moved aside by a breaker killed before it removed it is swept too, when its owner is gone', async () => {
    const lockPath = path.join(dir, 'a.lock')
    const aside = `${lockPath}.0123456789ab.stale`
    fs.writeFileSync(aside, JSON.stringify({pid: deadPid(), host: os.hostname(), created: '', nonce: 'old'}))
    // Another machine's record cannot be judged by its pid: left alone.
    const foreign = `${lockPath}.${'f'.repeat(32)}.new`
    fs.writeFileSync(foreign, JSON.stringify({pid: deadPid(), host: 'another-host.example', created: '', nonce: 'f'.repeat(32)}))
    await withLock(lockPath, async () => undefined)
    expect(fs.existsSync(aside)).toBe(false)
    expect(fs.existsSync(foreign)).toBe(true)
  })

  it('does not remove a lock that is no longer ours', async () => {
    const lockPath = path.join(dir, 'a.lock')
    const intruder = JSON.stringify({pid: process.ppid, host: os.hostname(), created: new Date().toISOString(), nonce: 'intruder'})
    await withLock(lockPath, async () => {
      fs.writeFileSync(lockPath, intruder) // as if ours had been broken as stale and taken by another process
    })
    expect(fs.readFileSync(lockPath, 'utf8')).toBe(intruder)
  })
})

describe('lockPathFor', () => {
  it('derives a stable, safe file name in the folder from the identity', () => {
    const a = lockPathFor({dir: '/state/locks', identity: 'https://us.posthog.com#client'})
    expect(a).toBe(lockPathFor({dir: '/state/locks', identity: 'https://us.posthog.com#client'}))
    expect(path.dirname(a)).toBe('/state/locks')
    expect(path.basename(a)).toMatch(/^[0-9a-f]{32}\.lock$/)
    expect(lockPathFor({dir: '/state/locks', identity: 'https://eu.posthog.com#client'})).not.toBe(a)
  })
})
