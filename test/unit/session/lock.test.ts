import {spawn, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {OnrampError} from '../../../src/errors.js'
import {lockPathFor, withLock} from '../../../src/session/lock.js'
import {runChildrenTogether} from '../../fixtures/run-children.js'
import {itUnless, POSIX_ONLY} from '../../support/skip.js'

let dir: string
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-lock-'))
})
afterEach(() => {
  vi.restoreAllMocks()
  fs.rmSync(dir, {recursive: true, force: true})
})

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

  it('breaks a lock left by a dead process', async () => {
    const lockPath = path.join(dir, 'a.lock')
    fs.writeFileSync(lockPath, JSON.stringify({pid: deadPid(), host: os.hostname(), created: new Date().toISOString(), nonce: 'old'}))
    await expect(withLock(lockPath, async () => 'got it', {timeoutMs: 2000})).resolves.toBe('got it')
    expect(fs.existsSync(lockPath)).toBe(false)
  })

  it('breaks a lock older than staleMs even if its owner lives', async () => {
    const lockPath = path.join(dir, 'a.lock')
    const old = new Date(Date.now() - 120_000).toISOString()
    fs.writeFileSync(lockPath, JSON.stringify({pid: process.ppid, host: os.hostname(), created: old, nonce: 'old'}))
    await expect(withLock(lockPath, async () => 'got it', {timeoutMs: 2000, staleMs: 60_000})).resolves.toBe('got it')
  })

  it('waits on an empty lock file briefly (its owner may be writing), then breaks it within seconds', async () => {
    const lockPath = path.join(dir, 'a.lock')
    fs.writeFileSync(lockPath, '') // as left by a process killed between create and write
    await expect(withLock(lockPath, async () => 1, {timeoutMs: 150, pollMs: 10})).rejects.toThrow(OnrampError)
    await expect(withLock(lockPath, async () => 2, {timeoutMs: 5000, pollMs: 50})).resolves.toBe(2)
  })

  it('removes its lock file when writing the owner fails, so nobody waits on an empty lock', async () => {
    const lockPath = path.join(dir, 'a.lock')
    const realOpen = fsp.open
    vi.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
      const handle = await realOpen(...args)
      if (args[0] === lockPath) {
        handle.writeFile = async () => {
          throw Object.assign(new Error('ENOSPC: no space left on device'), {code: 'ENOSPC'})
        }
      }
      return handle
    })
    await expect(withLock(lockPath, async () => 1)).rejects.toThrow('ENOSPC')
    expect(fs.existsSync(lockPath)).toBe(false)
  })

  it('bounds the age of a lock claiming a future date by its mtime', async () => {
    const lockPath = path.join(dir, 'a.lock')
    fs.writeFileSync(lockPath, JSON.stringify({pid: process.ppid, host: os.hostname(), created: '2999-01-01T00:00:00.000Z', nonce: 'future'}))
    await expect(withLock(lockPath, async () => 1, {timeoutMs: 150, pollMs: 10, staleMs: 60_000})).rejects.toThrow(OnrampError)
    const past = new Date(Date.now() - 120_000)
    fs.utimesSync(lockPath, past, past)
    await expect(withLock(lockPath, async () => 'got it', {timeoutMs: 1000, pollMs: 10, staleMs: 60_000})).resolves.toBe('got it')
  })

  it('recovers within seconds from a holder killed with SIGKILL', async () => {
    const lockPath = path.join(dir, 'a.lock')
    const env = {...process.env}
    delete env.NODE_ENV
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '..', '..', 'fixtures', 'session-child.ts'), 'hold', lockPath], {
      cwd: path.resolve(import.meta.dirname, '../../..'),
      env,
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    let out = ''
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        if (out.includes('ready\n') && !out.includes('sent')) {
          out += 'sent'
          child.stdin.write('go\n')
        }
        if (out.includes('locked\n')) resolve()
      })
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)))
    })
    const exited = new Promise((resolve) => child.on('exit', resolve))
    child.kill('SIGKILL')
    await exited
    expect(fs.existsSync(lockPath)).toBe(true) // the killed holder could not clean up
    // Well inside the default staleMs: only the dead-pid check can let this through in time.
    await expect(withLock(lockPath, async () => 'recovered', {timeoutMs: 3000})).resolves.toBe('recovered')
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
    expect(fs.readFileSync(lockPath, 'utf8')).toBe(held)
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
