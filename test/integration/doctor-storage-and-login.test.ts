import {spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, utimesSync, writeFileSync} from 'node:fs'
import {createServer, type Server, type Socket} from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {describeKeyringError} from '../../src/doctor/keychain-round-trip.js'
import {doctorExitCode, runDoctor} from '../../src/doctor/run.js'
import {rememberClient} from '../../src/oauth/registration.js'
import {withLock} from '../../src/session/lock.js'
import {FREE_PORT_ISSUER, FREE_PORT_SERVER, harnessPerTest} from '../support/harness.js'
import {wizardPortsPerTest} from '../support/wizard-ports.js'
import {findCheck} from '../support/doctor.js'

const {start} = harnessPerTest()
// Doctor on a built-in region probes the wizard app's fixed ports: only the test of that check does so.
const setup = () => start({issuer: FREE_PORT_ISSUER})
const wizardPorts = wizardPortsPerTest()
const servers: Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()))
})

/** Holds a port the way another program would; EADDRINUSE means something already does, which is as good. */
async function hold(port: number, host = '127.0.0.1'): Promise<void> {
  const server = createServer()
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false))
    server.listen({host, port, exclusive: true}, () => resolve(true))
  })
  if (bound) servers.push(server)
}

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''])
  return child.pid!
}

describe('onramp doctor: storage', () => {
  it('a 0644 credentials file: fails with chmod 600 and the path, exit 7', async () => {
    const h = await setup()
    mkdirSync(h.deps.paths.config, {recursive: true, mode: 0o700})
    const file = path.join(h.deps.paths.config, 'credentials.json')
    writeFileSync(file, JSON.stringify({version: 1, sessions: {}}))
    chmodSync(file, 0o644)
    const report = await runDoctor(h.deps, {selection: FREE_PORT_SERVER})
    expect(findCheck(report, 'storage.permissions.credentials')).toMatchObject({status: 'fail', summary: `${file} has mode 0644: others can read it (want 0600)`, fix: `chmod 600 ${file}`})
    expect(doctorExitCode(report)).toBe(7)
  })

  it('a credentials file that is not JSON: sessions fail as a storage problem, with the move-aside command', async () => {
    const h = await setup()
    mkdirSync(h.deps.paths.config, {recursive: true, mode: 0o700})
    const file = path.join(h.deps.paths.config, 'credentials.json')
    writeFileSync(file, '{not json', {mode: 0o600})
    const report = await runDoctor(h.deps, {selection: FREE_PORT_SERVER})
    expect(findCheck(report, 'sessions')).toMatchObject({status: 'fail', summary: expect.stringMatching(/credentials file .* is unusable: it is not valid JSON/), fix: expect.stringContaining(`mv "${file}" "${file}.bak"`)})
    expect(doctorExitCode(report)).toBe(7)
  })

  it('a config folder others can write into: fails with chmod 700', async () => {
    const h = await setup()
    mkdirSync(h.deps.paths.config, {recursive: true})
    chmodSync(h.deps.paths.config, 0o777)
    const report = await runDoctor(h.deps, {selection: FREE_PORT_SERVER})
    expect(findCheck(report, 'storage.permissions.config_dir')).toMatchObject({status: 'fail', summary: expect.stringMatching(/mode 0777: others can write into it/), fix: `chmod 700 ${h.deps.paths.config}`})
  })

  it('a lock left by a dead process, and one from another host nobody keeps alive: warn with the rm command; a held lock is left alone', async () => {
    const h = await setup()
    const locks = path.join(h.deps.paths.state, 'locks')
    mkdirSync(locks, {recursive: true, mode: 0o700})
    const dead = path.join(locks, 'a'.repeat(32) + '.lock')
    writeFileSync(dead, JSON.stringify({pid: deadPid(), host: os.hostname(), created: new Date().toISOString(), nonce: 'x'}))
    // Dated now by its own clock, and touched just now: only the missing heartbeat gives it away.
    const quiet = path.join(locks, 'b'.repeat(32) + '.lock')
    writeFileSync(quiet, JSON.stringify({pid: 1, host: 'elsewhere.example', created: new Date().toISOString(), nonce: 'y'}))
    // A real holder, beating while doctor watches; its file's mtime is 2 h in the future, which must not matter.
    const held = path.join(locks, 'c'.repeat(32) + '.lock')
    const report = await withLock(held, async () => {
      const future = new Date(Date.now() + 2 * 3600_000)
      utimesSync(held, future, future)
      return runDoctor(h.deps, {selection: FREE_PORT_SERVER})
    })
    const result = findCheck(report, 'storage.locks')
    expect(result.status).toBe('warn')
    expect(result.summary).toMatch(/2 stale or foreign lock file\(s\)/)
    expect(result.summary).toMatch(/owner \(pid \d+\) is no longer running/)
    expect(result.summary).toMatch(/no heartbeat in 2\.5 s, so no running onramp holds it, from host elsewhere\.example/)
    expect(result.summary).not.toContain('c'.repeat(32))
    expect(result.fix).toBe(`rm ${dead} ${quiet}`)
    expect(report.ok).toBe(true) // a stale lock delays, it does not fail
  })

  it('a lock held by a running onramp whose mtime is hours off this clock: ok, not stale', async () => {
    const h = await setup()
    const held = path.join(h.deps.paths.state, 'locks', 'd'.repeat(32) + '.lock')
    const report = await withLock(held, async () => {
      const past = new Date(Date.now() - 2 * 3600_000)
      utimesSync(held, past, past)
      return runDoctor(h.deps, {selection: FREE_PORT_SERVER})
    })
    expect(findCheck(report, 'storage.locks')).toMatchObject({status: 'ok', summary: '1 lock file(s) held by running onramp processes'})
  })

  it('no Secret Service under auto: the keychain round trip warns and names the fallback', async () => {
    const h = await setup()
    const deps = {...h.deps, env: {...h.deps.env, ONRAMP_STORAGE: 'auto', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent'}}
    const report = await runDoctor(deps, {selection: FREE_PORT_SERVER, platform: 'linux'})
    const keychain = findCheck(report, 'storage.keychain')
    expect(keychain.status).toBe('warn')
    expect(keychain.summary).toMatch(/keychain round trip failed after \d+ ms: the D-Bus session bus that DBUS_SESSION_BUS_ADDRESS names is gone/)
    expect(keychain.summary).not.toMatch(/ENOENT|unix:path|DBus error/) // the cause in a sentence, not the raw error
    expect(keychain.summary).toMatch(/auto falls back to the 0600 file/)
    expect(keychain.fix).toMatch(/ONRAMP_STORAGE=file/)
  })

  it.each([
    ['org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was not provided by any .service files', /no Secret Service runs on it/],
    ['Platform failure: DBus error: Secret Service: no result found', /no default keyring/],
    ['no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)', /no D-Bus session bus in this environment/],
    ['Platform failure: DBus error: org.freedesktop.DBus.Error.AccessDenied: Rejected send message', /refused onramp access/],
    ['Platform failure: DBus error: org.freedesktop.DBus.Error.Failed: something new', /failed to store a test entry/],
  ])('doctor never shows a raw D-Bus error: %s becomes a sentence naming the cause', (raw, sentence) => {
    const described = describeKeyringError(raw)
    expect(described).toMatch(sentence)
    expect(described).not.toMatch(/org\.freedesktop|Platform failure|DBus error/)
  })

  it('no Secret Service under ONRAMP_STORAGE=keychain: fails as a storage problem, exit 7', async () => {
    const h = await setup()
    const deps = {...h.deps, env: {...h.deps.env, ONRAMP_STORAGE: 'keychain', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent'}}
    const report = await runDoctor(deps, {selection: FREE_PORT_SERVER, platform: 'linux'})
    expect(findCheck(report, 'storage.keychain')).toMatchObject({status: 'fail', summary: expect.stringMatching(/refuses the file/)})
    expect(findCheck(report, 'storage.backend').status).toBe('fail')
    expect(findCheck(report, 'sessions').status).toBe('warn') // not checked without a store
    expect(doctorExitCode(report)).toBe(7)
  })

  it('a D-Bus that accepts the connection and never answers: the round trip is cut at its deadline, not hung', async () => {
    const h = await setup()
    const socketPath = path.join(h.home, 'bus.sock')
    const sockets: Socket[] = []
    const bus = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => bus.listen(socketPath, resolve))
    servers.push(bus)
    const deps = {...h.deps, env: {...h.deps.env, ONRAMP_STORAGE: 'auto', DBUS_SESSION_BUS_ADDRESS: `unix:path=${socketPath}`}}
    const report = await runDoctor(deps, {selection: FREE_PORT_SERVER, platform: 'linux', keychainTimeoutMs: 1500})
    for (const socket of sockets) socket.destroy()
    expect(findCheck(report, 'storage.keychain')).toMatchObject({status: 'warn', summary: expect.stringMatching(/failed after \d+ ms: no answer in 1\.5 s/)})
  })

  it('an unknown ONRAMP_STORAGE value: fails with the accepted values', async () => {
    const h = await setup()
    const report = await runDoctor({...h.deps, env: {...h.deps.env, ONRAMP_STORAGE: 'vault'}}, {selection: FREE_PORT_SERVER})
    expect(findCheck(report, 'storage.backend')).toMatchObject({status: 'fail', fix: 'export ONRAMP_STORAGE=auto (or keychain, file, redis)'})
  })
})

describe('onramp doctor: login', () => {
  it('a registered port held on 127.0.0.1: warns listing it, with lsof as the fix; login still has other ports', async () => {
    await wizardPorts.hold()
    const h = await start()
    await hold(8239)
    const report = await runDoctor(h.deps, {selection: {}})
    const ports = findCheck(report, 'login.ports')
    expect(ports.status).toBe('warn')
    expect(ports.summary).toMatch(/8239 \(127\.0\.0\.1/)
    expect(ports.fix).toMatch(/lsof .*-i :8239/)
    expect(report.checks.filter((check) => check.kind === 'login' && check.status === 'fail')).toEqual([])
  })

  it('a remembered registered client whose port is held (custom host): warns that login will register again', async () => {
    const h = await setup()
    const other = createServer()
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    servers.push(other)
    const port = (other.address() as {port: number}).port
    const issuer = 'http://127.0.0.1:1' // never contacted by this check
    await rememberClient(h.deps.paths.config, {issuer, client_id: 'dcr-1', redirect_uri: `http://127.0.0.1:${port}/callback`, registered_at: new Date().toISOString()})
    const report = await runDoctor(h.deps, {selection: {host: issuer}})
    expect(findCheck(report, 'login.ports')).toMatchObject({status: 'warn', summary: expect.stringMatching(new RegExp(`${port} \\(127\\.0\\.0\\.1\\).*register a new client`)), fix: expect.stringMatching(`lsof -i :${port}`)})
  })

  it.each([
    [{SSH_CONNECTION: '10.0.0.1 5555 10.0.0.2 22', DISPLAY: ':0'}, 'linux', /SSH session/],
    [{}, 'linux', /without DISPLAY or WAYLAND_DISPLAY/],
    [{BROWSER: 'no-such-browser-here --new-window'}, 'linux', /\$BROWSER names no-such-browser-here, which is not an executable/],
  ] as const)('a browser that cannot open (%j on %s): warn with --no-browser', async (env, platform, summary) => {
    const h = await setup()
    const deps = {...h.deps, env: {...h.deps.env, ...env}}
    const report = await runDoctor(deps, {selection: FREE_PORT_SERVER, platform})
    const browser = findCheck(report, 'login.browser')
    expect(browser.status).toBe('warn')
    expect(browser.summary).toMatch(summary)
    expect(browser.fix).toMatch(/onramp login --no-browser \(paste the redirect URL\)/)
  })

  it('WSL (from /proc/version) warns; a desktop session and a $BROWSER on PATH are ok', async () => {
    const h = await setup()
    const wsl = await runDoctor(h.deps, {selection: FREE_PORT_SERVER, platform: 'linux', procVersion: () => 'Linux version 5.15.90.1-microsoft-standard-WSL2'})
    expect(findCheck(wsl, 'login.browser')).toMatchObject({status: 'warn', summary: expect.stringMatching(/^WSL/)})
    const desktop = await runDoctor({...h.deps, env: {...h.deps.env, WAYLAND_DISPLAY: 'wayland-0'}}, {selection: FREE_PORT_SERVER, platform: 'linux', procVersion: () => 'Linux version 6.1'})
    expect(findCheck(desktop, 'login.browser')).toMatchObject({status: 'ok', fix: null})
    const scripted = await runDoctor({...h.deps, env: {...h.deps.env, BROWSER: process.execPath}}, {selection: FREE_PORT_SERVER, platform: 'linux'})
    expect(findCheck(scripted, 'login.browser')).toMatchObject({status: 'ok', summary: `$BROWSER: ${process.execPath}`})
  })
})
