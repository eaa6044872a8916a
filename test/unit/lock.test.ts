import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {OnrampError} from '../../src/errors.js'
import {lockPathFor, withLock} from '../../src/session/lock.js'
import {runChildrenTogether} from '../fixtures/run-children.js'

let dir: string
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-lock-'))
})
afterEach(() => fs.rmSync(dir, {recursive: true, force: true}))

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

  it('breaks an empty lock file only once it is old', async () => {
    const lockPath = path.join(dir, 'a.lock')
    fs.writeFileSync(lockPath, '')
    await expect(withLock(lockPath, async () => 1, {timeoutMs: 150, pollMs: 10})).rejects.toThrow(OnrampError)
    const past = new Date(Date.now() - 120_000)
    fs.utimesSync(lockPath, past, past)
    await expect(withLock(lockPath, async () => 2, {timeoutMs: 1000, pollMs: 10})).resolves.toBe(2)
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
    const a = lockPathFor('/state/locks', 'https://us.posthog.com#client')
    expect(a).toBe(lockPathFor('/state/locks', 'https://us.posthog.com#client'))
    expect(path.dirname(a)).toBe('/state/locks')
    expect(path.basename(a)).toMatch(/^[0-9a-f]{32}\.lock$/)
    expect(lockPathFor('/state/locks', 'https://eu.posthog.com#client')).not.toBe(a)
  })
})
