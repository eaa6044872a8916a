import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {OnrampError} from '../../../src/errors.js'
import {createFileStore} from '../../../src/session/file-store.js'
import {sessionKey, type Session} from '../../../src/session/session.js'
import {runChildrenTogether} from '../../fixtures/run-children.js'
import {describeUnless, itUnless, POSIX_ONLY, ROOT_ONLY, UNPRIVILEGED_CHILD_UNAVAILABLE} from '../../support/skip.js'

const session = (issuer: string, extra: Partial<Session> = {}): Session => ({
  issuer,
  client_id: 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM',
  region: null,
  access_token: 'pha_Zk3q9XvB2mN7pL0sR4tY8wA1cE5gH6jK9oQ2uV3xZ7bD',
  refresh_token: 'phr_Zk3q9XvB2mN7pL0sR4tY8wA1cE5gH6jK9oQ2uV3xZ7bD',
  expires_at: '2030-01-01T01:00:00.000Z',
  scope: ['user:read'],
  user: {email: 'ada@example.com'},
  obtained_at: '2030-01-01T00:00:00.000Z',
  kind: 'oauth',
  ...extra,
})

let home: string
let dir: string
let file: string
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-store-'))
  dir = path.join(home, 'config', 'onramp')
  file = path.join(dir, 'credentials.json')
})
afterEach(() => fs.rmSync(home, {recursive: true, force: true}))

const mode = (target: string) => fs.statSync(target).mode & 0o777

async function expectCorrupt(promise: Promise<unknown>, code = 'credentials_corrupt'): Promise<OnrampError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(OnrampError)
  expect(error).toMatchObject({code, exit: 1})
  expect((error as Error).message).toContain(file)
  return error as OnrampError
}

describe('file store', () => {
  it('treats a missing file as no sessions and creates nothing when reading', async () => {
    const store = createFileStore({path: file})
    expect(store.kind).toBe('file')
    expect(store.location).toBe(file)
    await expect(store.list()).resolves.toEqual([])
    await expect(store.get(session('https://us.posthog.com'))).resolves.toBeUndefined()
    expect(fs.existsSync(dir)).toBe(false)
  })

  it('saves, gets, lists, replaces and deletes sessions in the documented format', async () => {
    const store = createFileStore({path: file})
    const us = session('https://us.posthog.com')
    const eu = session('https://eu.posthog.com', {region: 'eu'})
    await store.save(us)
    await store.save(eu)
    await expect(store.get({...us, issuer: 'https://us.posthog.com/'})).resolves.toEqual(us)
    await expect(store.list()).resolves.toEqual([us, eu])

    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as {version: number; sessions: Record<string, Session>}
    expect(raw.version).toBe(1)
    expect(Object.keys(raw.sessions)).toEqual([sessionKey(us), sessionKey(eu)])

    const rotated = {...us, refresh_token: 'phr_rotatedrotatedrotated'}
    await store.save(rotated)
    await expect(store.get(us)).resolves.toEqual(rotated)

    await expect(store.delete(us)).resolves.toBe(true)
    await expect(store.delete(us)).resolves.toBe(false)
    await expect(store.list()).resolves.toEqual([eu])
  })

  it('writes the file 0600 in a 0700 folder', async () => {
    await createFileStore({path: file}).save(session('https://us.posthog.com'))
    expect(mode(file)).toBe(0o600)
    expect(mode(dir)).toBe(0o700)
  })

  itUnless(POSIX_ONLY)('tightens a 0644 credentials file to 0600 and says so; a folder others may only read is tightened too', async () => {
    const warnings: string[] = []
    const store = createFileStore({path: file, warn: (message) => warnings.push(message)})
    await store.save(session('https://us.posthog.com'))
    expect(warnings).toEqual([])
    fs.chmodSync(file, 0o644)
    fs.chmodSync(dir, 0o755)
    await store.list()
    expect(mode(file)).toBe(0o600)
    expect(mode(dir)).toBe(0o700)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(file)
    expect(warnings[0]).toMatch(/0644.*now 0600/)
  })

  it('replaces the file atomically, leaving no temp or lock files behind', async () => {
    const store = createFileStore({path: file})
    await store.save(session('https://us.posthog.com'))
    const inodeBefore = fs.statSync(file).ino
    await store.save(session('https://eu.posthog.com'))
    expect(fs.statSync(file).ino).not.toBe(inodeBefore) // a new file renamed over the old, not rewritten in place
    await store.delete(session('https://us.posthog.com'))
    expect(fs.readdirSync(dir)).toEqual(['credentials.json'])
  })

  it('refuses to save a malformed session', async () => {
    const store = createFileStore({path: file})
    await expect(store.save({...session('https://us.posthog.com'), scope: 'user:read'} as unknown as Session)).rejects.toThrow('"scope"')
    expect(fs.existsSync(file)).toBe(false)
  })

  it('keeps entries and top-level data it does not understand when rewriting', async () => {
    fs.mkdirSync(dir, {recursive: true})
    fs.writeFileSync(file, JSON.stringify({version: 1, note: 'keep me', sessions: {other: {strange: true}}}), {mode: 0o600})
    const store = createFileStore({path: file})
    await store.save(session('https://us.posthog.com'))
    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>
    expect(raw.note).toBe('keep me')
    expect((raw.sessions as Record<string, unknown>).other).toEqual({strange: true})
  })

  describe('never overwrites a file it cannot understand', () => {
    const cases: Array<[string, string]> = [
      ['invalid JSON', '{"version":1,"sessions":{'],
      ['not an object', '[1,2,3]'],
      ['no version', '{"sessions":{}}'],
      ['sessions not an object', '{"version":1,"sessions":[]}'],
    ]
    it.each(cases)('%s: reads, saves and deletes fail, the bytes stay', async (_name, content) => {
      fs.mkdirSync(dir, {recursive: true})
      fs.writeFileSync(file, content, {mode: 0o600})
      const before = fs.readFileSync(file)
      const store = createFileStore({path: file})
      const error = await expectCorrupt(store.list())
      expect(error.message).toMatch(/move it aside/)
      await expectCorrupt(store.get(session('https://us.posthog.com')))
      await expectCorrupt(store.save(session('https://us.posthog.com')))
      await expectCorrupt(store.delete(session('https://us.posthog.com')))
      expect(fs.readFileSync(file).equals(before)).toBe(true)
      expect(fs.readdirSync(dir)).toEqual(['credentials.json'])
    })

    it('an invalid session entry: reading it fails naming it, saving another keeps it as it is', async () => {
      fs.mkdirSync(dir, {recursive: true})
      fs.writeFileSync(file, '{"version":1,"sessions":{"k":{"issuer":"https://h"}}}', {mode: 0o600})
      const store = createFileStore({path: file})
      const error = await expectCorrupt(store.list())
      expect(error.message).toContain('"k"')
      await store.save(session('https://us.posthog.com'))
      const after = JSON.parse(fs.readFileSync(file, 'utf8')) as {sessions: Record<string, unknown>}
      expect(after.sessions.k).toEqual({issuer: 'https://h'})
      await expect(store.get(session('https://us.posthog.com'))).resolves.toEqual(session('https://us.posthog.com'))
    })

    it('an unreadable path (a directory)', async () => {
      fs.mkdirSync(file, {recursive: true})
      await expectCorrupt(createFileStore({path: file}).save(session('https://us.posthog.com')), 'untrusted_path')
      expect(fs.statSync(file).isDirectory()).toBe(true)
    })

    it('a future format version', async () => {
      fs.mkdirSync(dir, {recursive: true})
      const content = '{"version":2,"sessions":{},"vaults":["x"]}'
      fs.writeFileSync(file, content, {mode: 0o600})
      const store = createFileStore({path: file})
      const error = await expectCorrupt(store.save(session('https://us.posthog.com')), 'credentials_unsupported_version')
      expect(error.message).toMatch(/version 2/)
      expect(fs.readFileSync(file, 'utf8')).toBe(content)
    })
  })

  describeUnless(POSIX_ONLY)('trusts only what is yours', () => {
    it('refuses a symlinked credentials file, never reading or replacing through it', async () => {
      const elsewhere = path.join(home, 'elsewhere.json')
      fs.writeFileSync(elsewhere, JSON.stringify({version: 1, sessions: {}}), {mode: 0o600})
      fs.mkdirSync(dir, {recursive: true, mode: 0o700})
      fs.symlinkSync(elsewhere, file)
      const store = createFileStore({path: file})
      await expectCorrupt(store.list(), 'untrusted_path')
      await expectCorrupt(store.save(session('https://us.posthog.com')), 'untrusted_path')
      expect(fs.lstatSync(file).isSymbolicLink()).toBe(true)
      expect(fs.readFileSync(elsewhere, 'utf8')).toBe(JSON.stringify({version: 1, sessions: {}}))
    })

    it('refuses a credentials folder others can write, leaving its mode alone', async () => {
      fs.mkdirSync(dir, {recursive: true})
      fs.chmodSync(dir, 0o777)
      const store = createFileStore({path: file})
      const error = await store.save(session('https://us.posthog.com')).catch((caught: unknown) => caught)
      expect(error).toMatchObject({code: 'untrusted_path'})
      expect((error as Error).message).toContain(dir)
      await expect(store.list()).rejects.toMatchObject({code: 'untrusted_path'})
      expect(mode(dir)).toBe(0o777)
      expect(fs.existsSync(file)).toBe(false)
    })

    itUnless(ROOT_ONLY)('refuses a credentials file owned by another user', async () => {
      fs.mkdirSync(dir, {recursive: true, mode: 0o700})
      fs.writeFileSync(file, JSON.stringify({version: 1, sessions: {}}), {mode: 0o600})
      fs.chownSync(file, 12345, 12345)
      await expectCorrupt(createFileStore({path: file}).list(), 'untrusted_path')
    })
  })

  describe('checkWritable (login asks before the browser opens)', () => {
    it('passes for a fresh machine and for a good file, leaving nothing behind', async () => {
      const store = createFileStore({path: file})
      await store.checkWritable!()
      expect(fs.readdirSync(dir)).toEqual([])
      await store.save(session('https://us.posthog.com'))
      await store.checkWritable!()
      expect(fs.readdirSync(dir)).toEqual(['credentials.json'])
    })

    it('stops on a corrupt file', async () => {
      fs.mkdirSync(dir, {recursive: true})
      fs.writeFileSync(file, '{"version":1,', {mode: 0o600})
      await expectCorrupt(createFileStore({path: file}).checkWritable!())
    })

    // Root writes anywhere, so the folder is made unwritable for an unprivileged user who owns it.
    itUnless(POSIX_ONLY || UNPRIVILEGED_CHILD_UNAVAILABLE)('stops with exit 7 when the folder cannot be written', () => {
      fs.mkdirSync(dir, {recursive: true, mode: 0o700})
      const script = `import('./src/session/file-store.ts').then(({createFileStore}) => createFileStore({path: ${JSON.stringify(file)}}).checkWritable()).then(() => console.log('ok'), (e) => console.log(JSON.stringify({code: e.code, exit: e.exit, message: e.message})))`
      let uid: number | undefined
      if (process.getuid!() === 0) {
        uid = 65534
        fs.chmodSync(home, 0o755)
        fs.chmodSync(path.dirname(dir), 0o755)
        fs.chownSync(dir, uid, uid)
      }
      fs.chmodSync(dir, 0o500)
      const env = {...process.env}
      delete env.NODE_ENV
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: path.resolve(import.meta.dirname, '../../..'),
        env: {...env, TSX_TSCONFIG_PATH: 'tsconfig.json', HOME: home},
        encoding: 'utf8',
        ...(uid === undefined ? {} : {uid, gid: uid}),
      })
      fs.chmodSync(dir, 0o700)
      expect(child.stderr).toBe('')
      const result = JSON.parse(child.stdout) as {code: string; exit: number; message: string}
      expect(result).toMatchObject({code: 'storage_unwritable', exit: 7})
      expect(result.message).toContain(dir)
    })
  })

  describe('replace (a refresh saves only over the session it started from)', () => {
    it('saves when the stored refresh token is the expected one', async () => {
      const store = createFileStore({path: file})
      await store.save(session('https://us.posthog.com'))
      const rotated = session('https://us.posthog.com', {refresh_token: 'phr_rotated'})
      await expect(store.replace!(rotated, {ifRefreshToken: session('x').refresh_token})).resolves.toBe('saved')
      await expect(store.get(rotated)).resolves.toEqual(rotated)
    })

    it('never resurrects a deleted session', async () => {
      const store = createFileStore({path: file})
      await expect(store.replace!(session('https://us.posthog.com'), {ifRefreshToken: 'phr_spent'})).resolves.toBe('missing')
      await expect(store.list()).resolves.toEqual([])
    })

    it('never overwrites a newer session', async () => {
      const store = createFileStore({path: file})
      const newer = session('https://us.posthog.com', {refresh_token: 'phr_newer_login'})
      await store.save(newer)
      await expect(store.replace!(session('https://us.posthog.com', {refresh_token: 'phr_from_refresh'}), {ifRefreshToken: 'phr_spent'})).resolves.toBe('changed')
      await expect(store.get(newer)).resolves.toEqual(newer)
    })
  })

  it('keeps both sessions when two processes save at the same time', async () => {
    await runChildrenTogether([
      ['save', file, 'alpha', '15'],
      ['save', file, 'beta', '15'],
    ])
    const sessions = await createFileStore({path: file}).list()
    expect(sessions).toHaveLength(30)
    expect(new Set(sessions.map((item) => item.client_id))).toEqual(new Set(['client-alpha', 'client-beta']))
    expect(fs.readdirSync(dir)).toEqual(['credentials.json'])
    expect(mode(file)).toBe(0o600)
  })
})
