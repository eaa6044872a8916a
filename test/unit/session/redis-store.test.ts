/**
 * The Redis session store against a real redis-server (test/support/redis-server.ts), beyond the
 * contract every store passes (store-contract.test.ts): sealing (a scan of everything Redis holds),
 * the key check, newer formats, the lock, and deadlines when Redis is gone or slow.
 */
import {afterAll, afterEach, beforeAll, expect, it} from 'vitest'

import {ExitCode, StorageUnavailableError} from '../../../src/errors.js'
import {openRedisStore, type RedisSessionStore} from '../../../src/session/redis-store.js'
import {newStoreKey} from '../../../src/session/seal.js'
import type {Session} from '../../../src/session/session.js'
import {openSessionStore} from '../../../src/session/open-store.js'
import {redisServerUnavailable, startLatencyProxy, startRedisServer, type RedisServer} from '../../support/redis-server.js'
import {describeUnless} from '../../support/skip.js'

const noRedis = redisServerUnavailable()

let redis: RedisServer
const opened: RedisSessionStore[] = []
let prefixCount = 0

beforeAll(async () => {
  if (!noRedis) redis = await startRedisServer()
})
afterAll(async () => {
  await redis?.destroy()
})
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close()
})

function session(overrides: Partial<Session> = {}): Session {
  return {
    issuer: 'https://us.posthog.com',
    client_id: 'client-1',
    region: 'us',
    access_token: 'pha_access_one_0123456789',
    refresh_token: 'phr_refresh_one_0123456789',
    expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    scope: ['project:read'],
    user: {email: 'dev@example.com'},
    obtained_at: new Date().toISOString(),
    kind: 'provisioning',
    ...overrides,
  }
}

/** A store on its own key prefix (tests share one server), or with the env given. */
async function open(env: Record<string, string> = {}): Promise<RedisSessionStore> {
  const store = await openRedisStore({env: {ONRAMP_REDIS_URL: redis.url, ONRAMP_STORE_KEY: key, ONRAMP_REDIS_PREFIX: prefix, ...env}})
  opened.push(store)
  return store
}

let key = newStoreKey()
let prefix = 'test0:'
function freshNamespace() {
  key = newStoreKey()
  prefix = `test${++prefixCount}:`
}

async function rejection(promise: Promise<unknown>): Promise<StorageUnavailableError> {
  try {
    await promise
  } catch (error) {
    return error as StorageUnavailableError
  }
  throw new Error('expected a rejection')
}

describeUnless(noRedis)('Redis session store (a real redis-server)', () => {
  it('is chosen by ONRAMP_STORAGE=redis and describes itself without the URL password', async () => {
    freshNamespace()
    const store = (await openSessionStore({
      env: {ONRAMP_STORAGE: 'redis', ONRAMP_REDIS_URL: redis.url.replace('redis://', 'redis://:hunter2@'), ONRAMP_STORE_KEY: key, ONRAMP_REDIS_PREFIX: prefix},
      paths: {config: '/nonexistent', state: '/nonexistent', cache: '/nonexistent'} as never,
      warn: () => undefined,
    })) as RedisSessionStore
    opened.push(store)
    expect(store.describe().kind).toBe('redis')
    expect(store.location).toContain(`127.0.0.1:${redis.port}`)
    expect(store.location).not.toContain('hunter2')
  })

  it('nothing in Redis is readable without the key: no token, prefix or identity in any key or value', async () => {
    freshNamespace()
    const store = await open()
    await store.save(session({access_token: 'phx_personal_like_0123456789'}))
    await store.save(session({client_id: 'client-2', access_token: 'pha_second_0123456789', refresh_token: 'phr_second_0123456789'}))
    await store.withRefreshLock!(session(), async () => undefined)
    const client = redis.client()
    const dump: string[] = []
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 100)
      cursor = next
      for (const name of keys) {
        dump.push(name)
        const type = await client.type(name)
        if (type === 'string') dump.push((await client.get(name)) ?? '')
        else if (type === 'hash') dump.push(...Object.entries(await client.hgetall(name)).flat())
        else if (type === 'set') dump.push(...(await client.smembers(name)))
        else dump.push(`unexpected type ${type}`)
      }
    } while (cursor !== '0')
    expect(dump.length).toBeGreaterThan(4)
    const text = dump.join('\n')
    for (const secret of ['pha_', 'phr_', 'phx_', 'access_one', 'refresh_one', 'personal_like', 'second_0123', 'posthog.com', 'client-1', 'dev@example.com']) {
      expect(text).not.toContain(secret)
    }
  })

  it('a wrong ONRAMP_STORE_KEY is exit 7 naming the variable, for reads, lists, writes and deletes', async () => {
    freshNamespace()
    await (await open()).save(session())
    const wrong = await open({ONRAMP_STORE_KEY: newStoreKey()})
    for (const attempt of [wrong.get(session()), wrong.list(), wrong.save(session()), wrong.delete(session()), wrong.checkWritable!()]) {
      const error = await rejection(attempt)
      expect(error.exit).toBe(ExitCode.storageUnavailable)
      expect(error.message).toContain('ONRAMP_STORE_KEY')
    }
    expect((await (await open()).get(session()))?.access_token).toBe('pha_access_one_0123456789') // untouched
  })

  it('a missing ONRAMP_STORE_KEY or ONRAMP_REDIS_URL is exit 7 naming the variable', async () => {
    const noKey = await rejection(openRedisStore({env: {ONRAMP_REDIS_URL: redis.url}}))
    expect(noKey.exit).toBe(7)
    expect(noKey.message).toContain('ONRAMP_STORE_KEY')
    const noUrl = await rejection(openRedisStore({env: {ONRAMP_STORE_KEY: newStoreKey()}}))
    expect(noUrl.exit).toBe(7)
    expect(noUrl.message).toContain('ONRAMP_REDIS_URL')
    const badScheme = await rejection(openRedisStore({env: {ONRAMP_STORE_KEY: newStoreKey(), ONRAMP_REDIS_URL: 'http://127.0.0.1:6379'}}))
    expect(badScheme.message).toMatch(/redis:\/\/ or rediss:\/\//)
  })

  it('a session written by a newer onramp is refused naming its format, and not overwritten', async () => {
    freshNamespace()
    await (await open()).save(session())
    const client = redis.client()
    const [name] = await client.keys(`${prefix}session:*`)
    const sealed = await client.hget(name!, 's')
    await client.hset(name!, 's', sealed!.replace(/^onramp\.1\./, 'onramp.7.'))
    const store = await open()
    const error = await rejection(store.get(session()))
    expect(error.exit).toBe(7)
    expect(error.message).toMatch(/newer onramp \(sealed format 7/)
    expect((await rejection(store.replace!(session(), {ifRefreshToken: 'phr_refresh_one_0123456789'}))).message).toMatch(/format 7/)
    expect(await client.hget(name!, 's')).toMatch(/^onramp\.7\./)
  })

  it('a value copied onto another session is refused (the seal is bound to the id and version)', async () => {
    freshNamespace()
    const store = await open()
    await store.save(session())
    await store.save(session({client_id: 'client-2'}))
    const client = redis.client()
    const names = await client.keys(`${prefix}session:*`)
    const first = await client.hgetall(names[0]!)
    await client.hset(names[1]!, 'v', first.v!, 's', first.s!)
    const errors = await Promise.all([store.get(session()), store.get(session({client_id: 'client-2'}))].map((each) => each.then(() => undefined, (error: unknown) => error)))
    expect(errors.filter((error) => error instanceof StorageUnavailableError)).toHaveLength(1)
  })

  it('the refresh lock lets one holder in at a time across clients, and a killed holder loses it after the lease', async () => {
    freshNamespace()
    const [a, b] = [await open({ONRAMP_REDIS_LOCK_LEASE_MS: '600'}), await open({ONRAMP_REDIS_LOCK_LEASE_MS: '600'})]
    const client = redis.client()
    const order: string[] = []
    let inside = 0
    let lockName = ''
    const work = (name: string) => async () => {
      inside++
      expect(inside).toBe(1)
      order.push(`${name} in`)
      lockName = (await client.keys(`${prefix}lock:*`))[0] ?? ''
      await new Promise((resolve) => setTimeout(resolve, 1_000)) // longer than the lease: renewals keep it
      order.push(`${name} out`)
      inside--
    }
    await Promise.all([a.withRefreshLock!(session(), work('a')), b.withRefreshLock!(session(), work('b'))])
    expect(order).toHaveLength(4)
    expect(order[0]!.split(' ')[0]).toBe(order[1]!.split(' ')[0])
    expect(lockName).toMatch(/:lock:[0-9a-f]{32}$/)
    expect(await client.exists(lockName)).toBe(0) // released (compare-and-delete)
    // A holder that never releases (a killed process): its lease ends and the next one gets in.
    await client.set(lockName, 'a-killed-holder', 'PX', 700)
    const started = Date.now()
    await a.withRefreshLock!(session(), async () => {
      expect(await client.get(lockName)).not.toBe('a-killed-holder')
    })
    expect(Date.now() - started).toBeGreaterThanOrEqual(400)
    // Release never deletes a lock another owner holds now.
    await client.set(lockName, 'someone-else', 'PX', 60_000)
    await expect(Promise.race([a.withRefreshLock!(session(), async () => 'in'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 500))])).resolves.toBe('waiting')
    expect(await client.get(lockName)).toBe('someone-else')
    await client.del(lockName)
  })

  it('Redis unreachable: exit 7 within the deadline, naming Redis', async () => {
    freshNamespace()
    const port = redis.port + 1 // nothing listens there (or it refuses): either way no Redis
    const store = await openRedisStore({env: {ONRAMP_REDIS_URL: `redis://127.0.0.1:${port}`, ONRAMP_STORE_KEY: key, ONRAMP_REDIS_TIMEOUT_MS: '800'}})
    opened.push(store)
    const started = Date.now()
    const error = await rejection(store.get(session()))
    expect(error.exit).toBe(7)
    expect(error.message).toMatch(/Redis at redis:\/\/127\.0\.0\.1/)
    expect(Date.now() - started).toBeLessThan(20_000) // gives up rather than reconnecting forever (a hang guard, not a speed target)
  })

  it('a Redis slower than ONRAMP_REDIS_TIMEOUT_MS: exit 7 naming the variable; a slow one within it works', async () => {
    freshNamespace()
    await (await open()).save(session())
    const proxy = await startLatencyProxy(redis.port, 300)
    try {
      const slow = await open({ONRAMP_REDIS_URL: proxy.url, ONRAMP_REDIS_TIMEOUT_MS: '5000'})
      expect((await slow.get(session()))?.access_token).toBe('pha_access_one_0123456789')
      const tooSlow = await open({ONRAMP_REDIS_URL: proxy.url, ONRAMP_REDIS_TIMEOUT_MS: '200'})
      const error = await rejection(tooSlow.get(session()))
      expect(error.exit).toBe(7)
      expect(error.message).toContain('ONRAMP_REDIS_TIMEOUT_MS')
    } finally {
      await proxy.close()
    }
  })
})
