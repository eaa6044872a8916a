import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createLogger} from '../../src/log.js'
import {itUnless} from '../support/skip.js'

const TOKEN = 'pha_Zk3q9XvB2mN7pL0sR4tY8wA1cE5gH6jK9oQ2uV3xZ7bD'
const NOW = () => new Date('2030-01-02T03:04:05.000Z')

let dir: string
let stderrText: string
const stderr = {write: (chunk: string) => (stderrText += chunk)}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-log-'))
  stderrText = ''
})
afterEach(() => fs.rmSync(dir, {recursive: true, force: true}))

const readLines = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)

describe('createLogger', () => {
  it('creates nothing until the first event, then a 0600 file in a 0700 folder', () => {
    const file = path.join(dir, 'state', 'onramp', 'onramp.log')
    const logger = createLogger({file, verbose: false, stderr, now: NOW})
    expect(fs.existsSync(path.dirname(file))).toBe(false)
    logger.event('login.success', {issuer: 'https://us.posthog.com'})
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700)
  })

  it('appends one JSON line per event with ts, level, event and fields', () => {
    const file = path.join(dir, 'onramp.log')
    const logger = createLogger({file, verbose: false, stderr, now: NOW})
    logger.event('a', {n: 1})
    logger.event('b', {ok: true, event: 'spoofed'}, 'warn')
    logger.event('debug', {message: 'hello', x: 'y'}, 'debug')
    expect(readLines(file)).toEqual([
      {ts: '2030-01-02T03:04:05.000Z', level: 'info', event: 'a', n: 1},
      {ts: '2030-01-02T03:04:05.000Z', level: 'warn', event: 'b', ok: true},
      {ts: '2030-01-02T03:04:05.000Z', level: 'debug', event: 'debug', message: 'hello', x: 'y'},
    ])
    // A second logger appends instead of truncating.
    createLogger({file, verbose: false, stderr, now: NOW}).event('c')
    expect(readLines(file)).toHaveLength(4)
  })

  it('tightens an existing looser log file to 0600', () => {
    const file = path.join(dir, 'onramp.log')
    fs.writeFileSync(file, '', {mode: 0o644})
    fs.chmodSync(file, 0o644)
    createLogger({file, verbose: false, stderr, now: NOW}).event('a')
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
  })

  it('redacts tokens inside fields, in the file and in the verbose echo', () => {
    const file = path.join(dir, 'onramp.log')
    const logger = createLogger({file, verbose: true, stderr, now: NOW})
    logger.event('token.exchange', {response: {access_token: 'opaque-secret-value', scope: 'user:read'}, note: `got ${TOKEN}`}, 'debug')
    const text = fs.readFileSync(file, 'utf8')
    expect(text).not.toContain('opaque-secret-value')
    expect(text).not.toContain(TOKEN.slice(4))
    expect(readLines(file)[0]).toMatchObject({response: {access_token: '[REDACTED]', scope: 'user:read'}, note: 'got pha_[REDACTED]'})
    expect(stderrText).not.toContain('opaque-secret-value')
    expect(stderrText).not.toContain(TOKEN.slice(4))
  })

  it('echoes a short human line to stderr in verbose mode', () => {
    const logger = createLogger({file: path.join(dir, 'onramp.log'), verbose: true, stderr, now: NOW})
    logger.event('http.response', {method: 'GET', status: 200}, 'debug')
    expect(stderrText).toBe('[debug] http.response method=GET status=200\n')
  })

  it('echoes nothing without verbose', () => {
    const logger = createLogger({file: path.join(dir, 'onramp.log'), verbose: false, stderr, now: NOW})
    logger.event('http.response', {status: 200}, 'error')
    logger.event('debug', {message: 'quiet'}, 'debug')
    expect(stderrText).toBe('')
  })

  it('never throws when the log cannot be written, and says so once in verbose mode', () => {
    const blocker = path.join(dir, 'not-a-dir')
    fs.writeFileSync(blocker, '')
    const file = path.join(blocker, 'onramp.log') // parent is a file: mkdir fails
    const quiet = createLogger({file, verbose: false, stderr, now: NOW})
    expect(() => quiet.event('a')).not.toThrow()
    expect(stderrText).toBe('')

    const loud = createLogger({file, verbose: true, stderr, now: NOW})
    loud.event('a')
    loud.event('b')
    const notes = stderrText.split('\n').filter((line) => line.includes('could not write the log file'))
    expect(notes).toHaveLength(1)
  })

  it('never follows a link planted at the log\'s name: the target is untouched and the refusal names the fix, even without --verbose', () => {
    const state = path.join(dir, 'state')
    fs.mkdirSync(state, {mode: 0o700})
    const target = path.join(dir, 'victim.txt')
    fs.writeFileSync(target, 'precious\n')
    const file = path.join(state, 'onramp.log')
    fs.symlinkSync(target, file)
    const logger = createLogger({file, verbose: false, stderr, now: NOW})
    expect(() => logger.event('login.success', {issuer: 'https://us.posthog.com'})).not.toThrow()
    expect(fs.readFileSync(target, 'utf8')).toBe('precious\n')
    expect(stderrText).toMatch(/could not write the log file .*onramp\.log: Refusing to use .*: it is a symbolic link.*rm /)
  })

  itUnless(process.platform === 'win32' && 'POSIX modes only')('refuses a log folder others can write, with the fix, and writes nothing there', () => {
    const state = path.join(dir, 'shared')
    fs.mkdirSync(state)
    fs.chmodSync(state, 0o777)
    const file = path.join(state, 'onramp.log')
    createLogger({file, verbose: false, stderr, now: NOW}).event('a')
    expect(fs.existsSync(file)).toBe(false)
    expect(stderrText).toMatch(/other users can write into it \(mode 0777\).*chmod 700/)
  })
})
