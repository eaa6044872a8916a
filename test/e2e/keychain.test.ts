import {spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import {createServer, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {resolvePaths} from '../../src/paths.js'
import {createNativeBackend} from '../../src/session/keychain/native.js'
import {readValue, valueIn} from '../../src/session/keychain/parts.js'
import {readPlain} from '../../src/session/keychain/secret-service.js'
import {sessionKey, type Session} from '../../src/session/session.js'
import {openSessionStore} from '../../src/session/open-store.js'
import type {SessionStore} from '../../src/session/store.js'
import {BIN, cliEnv, isolatedHome, ROOT, runCli} from '../support/cli.js'
import {fakeBackend, LOCK_KEYRING_SH, NO_BUS, privateKeyringUnavailable, searchKeychain, secretServiceUnavailable} from '../support/keyring.js'
import {startMockProcess, type MockProcess} from '../support/mock-process.js'

// Decided once, at load: no Secret Service skips with this reason, or fails under ONRAMP_REQUIRE_KEYCHAIN_TESTS=1.
// Run them with: scripts/with-keyring.sh npx vitest run test/e2e/keychain.test.ts
const noSecretService = secretServiceUnavailable()
const noPrivateKeyring = privateKeyringUnavailable()
const skipped = (reason: string | undefined) => (reason ? ` (skipped: ${reason})` : '')

/** A session on an issuer no other test uses, so keychain entries never collide. */
function uniqueSession(overrides: Partial<Session> = {}): Session {
  const id = randomBytes(6).toString('hex')
  return {
    issuer: `https://kc-${id}.example.test`,
    client_id: `client-${id}`,
    region: null,
    access_token: `pha_${randomBytes(20).toString('hex')}`,
    refresh_token: `phr_${randomBytes(20).toString('hex')}`,
    expires_at: new Date(Date.now() + 3600_000).toISOString(),
    scope: ['user:read', 'project:read'],
    user: {email: 'dev@example.com'},
    obtained_at: new Date().toISOString(),
    kind: 'oauth',
    ...overrides,
  }
}

/** Every file under `dir` whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = []
  for (const entry of fs.readdirSync(dir, {withFileTypes: true, recursive: true})) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath, entry.name)
    if (fs.readFileSync(file).includes(needle)) found.push(file)
  }
  return found
}

let homes: ReturnType<typeof isolatedHome>[] = []
function home(storage: 'auto' | 'keychain' | 'file' = 'auto') {
  const made = isolatedHome()
  homes.push(made)
  const env = {...made.env, ONRAMP_STORAGE: storage}
  return {...made, env, paths: resolvePaths(env)}
}
afterEach(() => {
  for (const made of homes) made.cleanup()
  homes = []
})

function openStore(h: ReturnType<typeof home>, extra: Record<string, string> = {}): Promise<SessionStore> {
  return openSessionStore({env: {...h.env, ...extra}, paths: h.paths, warn: () => undefined})
}

describe('with a real Secret Service', () => {
  it.skipIf(noSecretService !== undefined)(`stores the tokens in it and nothing on disk; status and token read them back through the CLI${skipped(noSecretService)}`, async () => {
    const h = home('keychain')
    const session = uniqueSession()
    const store = await openStore(h)
    expect(store.describe()).toEqual({kind: 'keychain', location: 'Secret Service (service onramp)'})
    await expect(store.save(session)).resolves.toMatchObject({storage: {kind: 'keychain'}, moved_from: null})

    const account = sessionKey(session)
    expect(searchKeychain()).toContain(`attribute.username = ${account}`)
    expect(filesContaining(h.home, session.access_token)).toEqual([])
    expect(filesContaining(h.home, session.refresh_token!)).toEqual([])

    const status = await runCli(['status', '--json'], {env: h.env})
    expect(status.code, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout).sessions).toEqual([expect.objectContaining({issuer: session.issuer, storage: {kind: 'keychain', location: 'Secret Service (service onramp)'}})])
    expect(status.stdout).not.toContain(session.access_token)

    const token = await runCli(['token'], {env: h.env})
    expect(token.code, token.stderr).toBe(0)
    expect(token.stdout).toBe(`${session.access_token}\n`)

    const logout = await runCli(['logout', '--json'], {env: h.env})
    expect(logout.code, logout.stderr).toBe(0)
    expect(searchKeychain()).not.toContain(account)
    await expect(store.list()).resolves.toEqual([])
  }, 60_000)

  it.skipIf(noSecretService !== undefined)(`splits a token longer than one entry may hold and reads it back whole${skipped(noSecretService)}`, async () => {
    const h = home('keychain')
    const session = uniqueSession({access_token: `eyJ${randomBytes(1500).toString('hex')}`})
    const store = await openStore(h)
    await store.save(session)
    await expect(store.get(session)).resolves.toEqual(session)
    expect(searchKeychain()).toContain(`#part:`)
    await expect(store.delete(session)).resolves.toBe(true)
    expect(searchKeychain()).not.toContain(session.issuer)
  })

  it.skipIf(noSecretService !== undefined)(`moves a plaintext session into the keychain at its next save and removes the plaintext copy${skipped(noSecretService)}`, async () => {
    const h = home('auto')
    const session = uniqueSession()
    await (await openStore(h, {ONRAMP_STORAGE: 'file'})).save(session)
    const credentials = path.join(h.paths.config, 'credentials.json')
    expect(fs.readFileSync(credentials, 'utf8')).toContain(session.access_token)

    // Until then, status shows it as the plaintext session it is.
    const before = await runCli(['status', '--json'], {env: h.env})
    expect(before.code, before.stderr).toBe(0)
    expect(JSON.parse(before.stdout).sessions[0].storage).toEqual({kind: 'file', location: credentials})

    const store = await openStore(h)
    const saved = await store.save({...session, access_token: `pha_${randomBytes(20).toString('hex')}`})
    expect(saved.moved_from).toEqual({kind: 'file', location: credentials})
    expect(filesContaining(h.home, session.refresh_token!)).toEqual([])
    expect(searchKeychain()).toContain(`${session.issuer}#${session.client_id}`)

    const after = await runCli(['status', '--json'], {env: h.env})
    expect(JSON.parse(after.stdout).sessions[0].storage).toMatchObject({kind: 'keychain'})
    await store.delete(session)
  })
})

describe('the plain Secret Service read token uses (no addon, no key exchange)', () => {
  /** `onramp token` with the module probe of hot-path-loads-little.test.ts: its output and the CommonJS files it loaded. */
  async function tokenLoading(env: Record<string, string | undefined>) {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'onramp-kc-probe-'))
    try {
      const file = path.join(dir, 'probe.json')
      const probe = pathToFileURL(path.join(ROOT, 'test', 'fixtures', 'module-probe.mjs')).href
      const result = await runCli(['token'], {env: {...env, NODE_OPTIONS: `--import=${probe}`, ONRAMP_TEST_PROBE_FILE: file}})
      const {files, builtins} = JSON.parse(fs.readFileSync(file, 'utf8')) as {files: string[]; builtins: string[]}
      return {result, files, builtins}
    } finally {
      fs.rmSync(dir, {recursive: true, force: true})
    }
  }

  it.skipIf(noSecretService !== undefined)(`reads back byte for byte what the library stored, a long split session too${skipped(noSecretService)}`, async () => {
    const h = home('keychain')
    const store = await openStore(h)
    const native = createNativeBackend({timeoutMs: 10_000})
    const short = uniqueSession({access_token: `pha_\u00e9\u4e2d\ud83d\ude00_${randomBytes(8).toString('hex')}`})
    const long = uniqueSession({access_token: `eyJ${randomBytes(1800).toString('hex')}\ud83d\ude00`})
    for (const session of [short, long]) {
      await store.save(session)
      const account = sessionKey(session)
      const plain = await readPlain(account, {address: process.env.DBUS_SESSION_BUS_ADDRESS, timeoutMs: 10_000})
      expect(plain, 'the plain read decided').toBeDefined()
      const value = valueIn(plain!, account)
      expect(value).toBe(await readValue(native, account)) // what the library reads, entry by entry
      expect(Buffer.from(value!, 'utf8').equals(Buffer.from(JSON.stringify({access_token: session.access_token, refresh_token: session.refresh_token}), 'utf8'))).toBe(true)
    }
    expect(searchKeychain()).toContain('#part:')
    for (const session of [short, long]) await store.delete(session)
  }, 60_000)

  it.skipIf(noSecretService !== undefined)(`ONRAMP_STORAGE=keychain onramp token prints the stored token without loading the keychain addon or node:net${skipped(noSecretService)}`, async () => {
    const h = home('keychain')
    const store = await openStore(h)
    for (const session of [uniqueSession(), uniqueSession({access_token: `eyJ${randomBytes(1500).toString('hex')}`})]) {
      await store.save(session)
      const {result, files, builtins} = await tokenLoading(h.env)
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toBe(`${session.access_token}\n`)
      expect(result.stderr).toBe('')
      expect(files.filter((file) => file.includes(`${path.sep}@napi-rs${path.sep}`))).toEqual([])
      expect(builtins).not.toContain('net') // the bus through the Pipe handle (unix-stream.ts): no node:net, no streams
      await store.delete(session)
    }
  }, 60_000)

  it.skipIf(noSecretService !== undefined)(`under --pending-deprecation (NODE_PENDING_DEPRECATION=1) it reaches the bus through node:net instead, with no warning${skipped(noSecretService)}`, async () => {
    const h = home('keychain')
    const store = await openStore(h)
    const session = uniqueSession()
    await store.save(session)
    const {result, builtins} = await tokenLoading({...h.env, NODE_PENDING_DEPRECATION: '1'})
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toBe(`${session.access_token}\n`)
    expect(result.stderr).toBe('') // process.binding would print DEP0111 here
    expect(builtins).toContain('net')
    await store.delete(session)
  }, 60_000)

  it.skipIf(noSecretService !== undefined)(`the probe sees the addon when the plain read cannot decide (a second item for the same account), and token answers as the library does${skipped(noSecretService)}`, async () => {
    const h = home('keychain')
    const session = uniqueSession()
    await (await openStore(h)).save(session)
    // The same account in a second item of the session collection: the plain read leaves it to the library.
    const account = sessionKey(session)
    const stored = JSON.stringify({access_token: session.access_token, refresh_token: session.refresh_token})
    const twin = spawnSync('secret-tool', ['store', '--collection=session', '--label=twin', 'service', 'onramp', 'username', account], {input: stored, timeout: 5000, encoding: 'utf8'})
    expect(twin.status, twin.stderr).toBe(0)
    try {
      expect(await readPlain(account, {address: process.env.DBUS_SESSION_BUS_ADDRESS, timeoutMs: 10_000})).toBeUndefined()
      const {result, files} = await tokenLoading(h.env)
      expect(files.some((file) => file.includes(`${path.sep}@napi-rs${path.sep}`))).toBe(true)
      // What the library makes of two entries for one account, exactly as before the plain read.
      expect(result.code, result.stderr).toBe(7)
      expect(result.stderr).toMatch(/Secret Service failed \(read\): Entry is matched by 2 credentials/)
    } finally {
      spawnSync('secret-tool', ['clear', 'service', 'onramp', 'username', account], {timeout: 5000})
    }
  }, 60_000)
})

describe('with no Secret Service on the bus', () => {
  const noBus = {DBUS_SESSION_BUS_ADDRESS: NO_BUS}
  let mock: MockProcess | undefined
  beforeAll(async () => {
    mock = await startMockProcess()
  })
  afterAll(async () => {
    await mock?.stop()
  })

  it('auto falls back to the file, with a warning naming the reason, shown once; a plaintext session still works', async () => {
    const h = home('auto')
    const env = {...h.env, ...noBus}
    // What login and signup do before the browser: prove where the next save goes.
    const warnings: string[] = []
    // In this process the native library sees the real bus, so the unreachable keychain is a fake here.
    const gone = () => Object.assign(fakeBackend(), {failWith: 'no Secret Service: the bus address is nonexistent'})
    const first = await openSessionStore({env, paths: h.paths, warn: (message) => warnings.push(message), backend: gone()})
    await first.checkWritable!()
    expect(first.describe()).toMatchObject({kind: 'file'})
    expect(warnings.join('\n')).toMatch(/keychain is unavailable \(.*nonexistent.*\).*shown once/s)
    const session = uniqueSession()
    await expect(first.save(session)).resolves.toMatchObject({storage: {kind: 'file'}})

    const second = await openSessionStore({env, paths: h.paths, warn: (message) => warnings.push(message), backend: gone()})
    await second.checkWritable!()
    expect(warnings).toHaveLength(1)

    // `token` reads the plaintext session without a keychain round trip, and without warning again.
    const token = await runCli(['token'], {env})
    expect(token.code, token.stderr).toBe(0)
    expect(token.stdout).toBe(`${session.access_token}\n`)
    expect(token.stderr).not.toMatch(/keychain is unavailable/)
  })

  it('ONRAMP_STORAGE=keychain refuses to fall back: a session whose tokens are in the keychain is exit 7, never "not logged in"', async () => {
    const h = home('keychain')
    // A session stored while a keychain worked (a fake one here), then the keychain goes away.
    await (await openSessionStore({env: h.env, paths: h.paths, warn: () => undefined, backend: fakeBackend()})).save(uniqueSession())
    const result = await runCli(['token', '--json'], {env: {...h.env, ...noBus}})
    expect(result.code, result.stderr).toBe(7)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'storage_unavailable', exit: 7})
    expect(result.stdout).toMatch(/ONRAMP_STORAGE=file/)
  })

  it('a D-Bus that accepts the connection and never answers: token is exit 7 at its deadline, and the process ends', async () => {
    const h = home('keychain')
    await (await openSessionStore({env: h.env, paths: h.paths, warn: () => undefined, backend: fakeBackend()})).save(uniqueSession())
    // A keychain read started on this bus would wait on the thread pool for ever, and keep the process alive.
    const sockets: Socket[] = []
    const bus = createServer((socket) => sockets.push(socket))
    const socketPath = path.join(h.home, 'bus.sock')
    await new Promise<void>((resolve) => bus.listen(socketPath, resolve))
    try {
      const result = await runCli(['token', '--json'], {env: {...h.env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${socketPath}`, ONRAMP_KEYCHAIN_TIMEOUT_MS: '1000'}, timeoutMs: 15_000})
      expect(result.code, result.stderr).toBe(7) // null: killed at 15 s, still running
      expect(JSON.parse(result.stdout).error.message).toMatch(/did not answer within 1 s/)
    } finally {
      for (const socket of sockets) socket.destroy()
      bus.close()
    }
  })

  it('a bus the library reaches over tcp (no check before it) that never answers: exit 7 soon after the deadline, though the native read still waits', async () => {
    const h = home('keychain')
    await (await openSessionStore({env: h.env, paths: h.paths, warn: () => undefined, backend: fakeBackend()})).save(uniqueSession())
    // The plain read and the bus check leave tcp: to the library, whose read then waits on the thread
    // pool for its own D-Bus timeout (25 s), which Node would join at exit.
    const sockets: Socket[] = []
    const bus = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => bus.listen(0, '127.0.0.1', resolve))
    const {port} = bus.address() as {port: number}
    try {
      const started = Date.now()
      const result = await runCli(['token', '--json'], {env: {...h.env, DBUS_SESSION_BUS_ADDRESS: `tcp:host=127.0.0.1,port=${port}`, ONRAMP_KEYCHAIN_TIMEOUT_MS: '1000'}, timeoutMs: 20_000})
      expect(sockets.length, 'the library connected').toBeGreaterThan(0)
      expect(JSON.parse(result.stdout).error.message).toMatch(/did not answer within 1 s/)
      // Node >= 22.15 ends with the run's exit code; Node 20 has no process.execve and ends by SIGKILL.
      // (null: ended by a signal; before the 15 s below, so not runCli's kill at 20 s).
      expect(result.code, result.stderr).toBe('execve' in process ? 7 : null)
      expect(Date.now() - started).toBeLessThan(15_000) // the library's own timeout is 25 s
    } finally {
      for (const socket of sockets) socket.destroy()
      bus.close()
    }
  })

  it('onramp login with ONRAMP_STORAGE=keychain exits 7 before any browser opens', async () => {
    const h = home('keychain')
    const opened = path.join(h.home, 'browser-opened')
    // $BROWSER would record the URL; the login must stop before it is ever called.
    const result = await runCli(['login', '--timeout', '20'], {
      env: {...h.env, ...noBus, ONRAMP_HOST: mock!.issuer, BROWSER: `sh -c 'echo "$0" > ${opened}'`},
      timeoutMs: 30_000,
    })
    expect(result.code, result.stderr).toBe(7)
    expect(result.stderr).toMatch(/keychain is unavailable/)
    expect(result.stderr).not.toMatch(/oauth\/authorize/)
    expect(fs.existsSync(opened)).toBe(false)
  })
})

describe('with a locked keyring', () => {
  it.skipIf(noPrivateKeyring !== undefined)(`token is a clear "unavailable" error (exit 7), never "not logged in", and never hangs${skipped(noPrivateKeyring)}`, async () => {
    const h = home('auto')
    const session = uniqueSession()
    // In a private keyring of its own (locking the shared one would disturb tests running beside this one):
    // store a session through onramp's store, lock the keyring, then ask for the token.
    const save = `import('${path.join(ROOT, 'dist', 'session', 'open-store.js')}').then(async ({openSessionStore}) => {
      const {resolvePaths} = await import('${path.join(ROOT, 'dist', 'paths.js')}')
      const store = await openSessionStore({env: process.env, paths: resolvePaths(process.env), warn: console.error})
      await store.save(JSON.parse(process.env.SESSION))
    })`
    const script = `node --input-type=module -e "$SAVE" && ${LOCK_KEYRING_SH} && exec node ${BIN} token --json`
    const result = await new Promise<{code: number | null; stdout: string; stderr: string}>((resolve, reject) => {
      const child = spawn(path.join(ROOT, 'scripts', 'with-keyring.sh'), ['bash', '-c', script], {
        env: cliEnv({...h.env, SAVE: save, SESSION: JSON.stringify(session), ONRAMP_KEYCHAIN_TIMEOUT_MS: '5000'}),
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      const timer = setTimeout(() => child.kill('SIGKILL'), 40_000) // a hang shows up as code null
      child.on('error', reject)
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve({code, stdout, stderr})
      })
    })
    expect(result.code, result.stderr).toBe(7)
    const {error} = JSON.parse(result.stdout) as {error: {code: string; message: string}}
    expect(error.code).toBe('storage_unavailable')
    expect(error.message).toMatch(/keychain is unavailable/)
    expect(result.stdout).not.toContain(session.access_token)
    expect(filesContaining(h.home, session.access_token)).toEqual([])
    // The session is still listed (from its metadata): being locked is not being logged out.
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(h.paths.config, 'sessions.json'), 'utf8')).sessions)).toContain(sessionKey(session))
  }, 60_000)
})
