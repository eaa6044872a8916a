/**
 * ONRAMP_STORAGE=redis through the built binary: a session seeded by `signup --non-interactive` on one
 * "machine" (its own HOME and XDG folders) is read by token, status and projects on another; sessions
 * move between stores with `sessions export` / `import`; a wrong or missing key, a newer onramp's value
 * and an unreachable Redis are exit 7. A real redis-server (test/support/redis-server.ts) and the mock.
 */
import {existsSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {expect, it} from 'vitest'

import {newStoreKey} from '../../src/session/seal.js'
import {runCli} from '../support/cli.js'
import {redisFleetForFile, redisServerUnavailable, type FleetMachine} from '../support/redis-server.js'
import {documentOf} from '../support/schemas.js'
import {describeUnless} from '../support/skip.js'

const noRedis = redisServerUnavailable()
const fleet = redisFleetForFile('e2e', noRedis)
const machine = fleet.machine

async function signup(on: FleetMachine, name = 'fleet') {
  const result = await on.run(['signup', '--email', `${name}-${fleet.prefix.replace(':', '')}@example.com`, '--non-interactive', '--json'])
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as {project: {id: string}; session: {storage: {kind: string}}}
}

describeUnless(noRedis)('sessions in Redis (a real redis-server)', () => {
  it('signup --non-interactive on one machine writes into Redis; token, status and projects read it on another', async () => {
    const seeder = machine()
    const created = await signup(seeder)
    expect(created.session.storage.kind).toBe('redis')
    const credentials = path.join(seeder.home.env.XDG_CONFIG_HOME!, 'onramp', 'credentials.json')
    expect(existsSync(credentials)).toBe(false) // nothing on the seeding machine's disk

    const runner = machine()
    const token = await runner.run(['token'])
    expect(token.code, token.stderr).toBe(0)
    expect(token.stdout.trim()).toMatch(/^pha_/)
    const status = await runner.run(['status', '--json'])
    expect(status.code, status.stderr).toBe(0)
    expect(documentOf(status, 'status')).toMatchObject({sessions: [{kind: 'provisioning', storage: {kind: 'redis'}}]})
    const shown = await runner.run(['projects', 'show', created.project.id, '--json'])
    expect(shown.code, shown.stderr).toBe(0)
    expect(documentOf(shown, 'projects-show')).toMatchObject({project: {id: created.project.id}})
  }, 120_000)

  it('logout on one machine removes the session from Redis for every machine', async () => {
    const seeder = machine()
    await signup(seeder)
    const other = machine()
    expect((await other.run(['token'])).code).toBe(0)
    const logout = await other.run(['logout', '--json'])
    expect(logout.code, logout.stderr).toBe(0)
    expect(await fleet.redis.client().keys(`${fleet.prefix}session:*`)).toEqual([])
    expect(await fleet.redis.client().smembers(`${fleet.prefix}sessions`)).toEqual([])
    const after = await seeder.run(['token'])
    expect(after.code).toBe(3)
  }, 120_000)

  it('store-key prints a new 32-byte base64 key, alone on stdout', async () => {
    const [plain, json] = await Promise.all([runCli(['store-key']), runCli(['store-key', '--json'])])
    expect(plain.code, plain.stderr).toBe(0)
    expect(Buffer.from(plain.stdout.trim(), 'base64')).toHaveLength(32)
    expect(plain.stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/)
    const document = documentOf(json, 'store-key')
    expect(document.store_key).not.toBe(plain.stdout.trim())
  })

  it('sessions export from the file store and import into Redis: sealed on the way, usable from Redis', async () => {
    const laptop = machine({ONRAMP_STORAGE: 'file'})
    await signup(laptop, 'laptop')
    const fileToken = (await laptop.run(['token'])).stdout.trim()

    const exported = await laptop.run(['sessions', 'export', '--json'])
    expect(exported.code, exported.stderr).toBe(0)
    const document = documentOf(exported, 'sessions-export')
    expect(exported.stdout).not.toMatch(/pha_|phr_|phx_/)
    expect(exported.stdout).not.toContain(fileToken)
    const plain = await laptop.run(['sessions', 'export'])
    expect(JSON.parse(plain.stdout)).toMatchObject({format: 'onramp-session-export', identity: document.identity})

    const file = path.join(laptop.home.home, 'session.json')
    writeFileSync(file, plain.stdout)
    const ci = machine()
    const imported = await ci.run(['sessions', 'import', file, '--json'])
    expect(imported.code, imported.stderr).toBe(0)
    expect(documentOf(imported, 'sessions-import')).toMatchObject({imported: {kind: 'provisioning'}, storage: {kind: 'redis'}, replaced: false, unchanged: false})
    expect((await ci.run(['token'])).stdout.trim()).toBe(fileToken)
    // Again from stdin: the same session is already there, nothing written.
    const again = await ci.run(['sessions', 'import', '-', '--json'], {}, plain.stdout)
    expect(documentOf(again, 'sessions-import')).toMatchObject({unchanged: true})
    // And back out of Redis into a fresh file store.
    const back = await ci.run(['sessions', 'export'])
    expect(back.code, back.stderr).toBe(0)
    const other = machine({ONRAMP_STORAGE: 'file'})
    expect((await other.run(['sessions', 'import'], {}, back.stdout)).code).toBe(0)
    expect((await other.run(['token'])).stdout.trim()).toBe(fileToken)
  }, 120_000)

  it('import refuses to overwrite a different stored session without --force, and an export sealed with another key', async () => {
    const laptop = machine({ONRAMP_STORAGE: 'file'})
    await signup(laptop, 'first')
    const first = (await laptop.run(['sessions', 'export'])).stdout
    const ci = machine()
    expect((await ci.run(['sessions', 'import'], {}, first)).code).toBe(0)
    // The session moves on in Redis (a refresh rotates its pair): the old export is now a stale copy of it.
    const refreshed = await ci.run(['token', '--min-valid', '86400'])
    expect(refreshed.code, refreshed.stderr).toBe(0)
    const refused = await ci.run(['sessions', 'import', '--json'], {}, first)
    expect(refused.code).toBe(2)
    expect(documentOf(refused, 'error')).toMatchObject({error: {code: 'usage'}})
    expect((await ci.run(['sessions', 'import', '--force', '--json'], {}, first)).code).toBe(0)

    const wrongKey = await ci.run(['sessions', 'import', '--force'], {ONRAMP_STORE_KEY: newStoreKey()}, first)
    expect(wrongKey.code).toBe(7)
    expect(wrongKey.stderr).toContain('ONRAMP_STORE_KEY')
    const notAnExport = await ci.run(['sessions', 'import'], {}, '{"hello": 1}')
    expect(notAnExport.code).toBe(2)
  }, 120_000)

  it('a wrong ONRAMP_STORE_KEY: token, status and signup exit 7 naming the variable; a missing one too', async () => {
    const seeder = machine()
    await signup(seeder)
    const wrong = machine({ONRAMP_STORE_KEY: newStoreKey()})
    for (const args of [['token'], ['status'], ['signup', '--email', 'x@example.com', '--non-interactive']]) {
      const result = await wrong.run(args)
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(7)
      expect(result.stderr).toContain('ONRAMP_STORE_KEY')
    }
    const missing = await seeder.run(['token', '--json'], {ONRAMP_STORE_KEY: ''})
    expect(missing.code).toBe(7)
    expect(documentOf(missing, 'error')).toMatchObject({error: {exit: 7, message: expect.stringContaining('ONRAMP_STORE_KEY')}})
    expect((await seeder.run(['token'])).code).toBe(0) // the session is untouched
  }, 120_000)

  it('a session written by a newer onramp is refused naming its format, and left as it was', async () => {
    const seeder = machine()
    await signup(seeder)
    const client = fleet.redis.client()
    const [name] = await client.keys(`${fleet.prefix}session:*`)
    const sealed = (await client.hget(name!, 's'))!
    const newer = sealed.replace(/^onramp\.1\./, 'onramp.2.')
    await client.hset(name!, 's', newer)
    const result = await seeder.run(['token'])
    expect(result.code).toBe(7)
    expect(result.stderr).toMatch(/newer onramp \(sealed format 2/)
    expect(await client.hget(name!, 's')).toBe(newer)
  }, 120_000)

  it('Redis unreachable: exit 7 within the deadline (ONRAMP_REDIS_TIMEOUT_MS), naming Redis', async () => {
    const seeder = machine()
    await signup(seeder)
    // A port nobody answers on promptly: a listening socket that never accepts a Redis conversation.
    const {createServer} = await import('node:net')
    const silent = createServer(() => undefined)
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const port = (silent.address() as {port: number}).port
      const started = Date.now()
      const result = await seeder.run(['token', '--json'], {ONRAMP_REDIS_URL: `redis://127.0.0.1:${port}`, ONRAMP_REDIS_TIMEOUT_MS: '1500'})
      const elapsed = Date.now() - started
      expect(result.code, result.stderr).toBe(7)
      expect(documentOf(result, 'error')).toMatchObject({error: {message: expect.stringMatching(/Redis at redis:\/\/127\.0\.0\.1:\d+ did not .* within 1500 ms \(ONRAMP_REDIS_TIMEOUT_MS\)/)}})
      expect(elapsed).toBeLessThan(1500 + 8_000) // the deadline plus a loaded machine's start-up
    } finally {
      silent.close()
    }
  }, 60_000)
})
