/**
 * ONRAMP_STORAGE=redis: sessions in a Redis many machines share (CI matrices), sealed with
 * ONRAMP_STORE_KEY (seal.ts), with Redis's own lock for one refresh per expiry across machines.
 *
 * The client is ioredis rather than node-redis: one package with few small dependencies, per-command
 * deadlines (`commandTimeout`) and connect deadlines built in, `rediss://` and passwords read from the
 * URL, and Lua through plain EVAL. It is imported only here, and this module only when the Redis store
 * is chosen, so `onramp token` on the file or keychain store never loads it.
 *
 * What Redis holds, all under ONRAMP_REDIS_PREFIX (default `onramp:`), nothing readable without the key:
 * - `session:<id>`: a hash {v: version, s: sealed session}; `<id>` is an HMAC of the session's identity
 *   (sessionKey, treated as opaque), the seal's associated data is that id and the version.
 * - `sessions`: the set of ids (`status` lists through it).
 * - `key-check`: an HMAC of a constant, so a wrong ONRAMP_STORE_KEY is told apart from "not logged in".
 * - `lock:<id>`: the refresh lock (SET NX PX, an owner token, a lease renewed while the holder works).
 */
import type {Redis, RedisOptions} from 'ioredis'

import {StorageUnavailableError, UnexpectedError} from '../errors.js'
import {crypto} from '../lazy-crypto.js'
import {rememberSecret} from '../redact.js'
import {keyedDigest, seal, STORE_KEY_VARIABLE, storeKeyFrom, unseal, WrongKeyError} from './seal.js'
import {parseSession, sessionKey, type Session, type SessionKey} from './session.js'
import type {SessionInfo, SessionStore, StorageLocation} from './store.js'

/** Every Redis call (connect included) answers within this, else exit 7: ONRAMP_REDIS_TIMEOUT_MS. */
export const REDIS_TIMEOUT_MS = 10_000
/** The refresh lock's lease, renewed every third of it while the holder works: ONRAMP_REDIS_LOCK_LEASE_MS. */
export const REDIS_LOCK_LEASE_MS = 15_000
/** How long a process waits for another's refresh before giving up (exit 1, lock_timeout). */
const LOCK_WAIT_MS = 90_000
/** A refreshed pair already spent the old refresh token: its save is retried this long while Redis is away. */
const SPENT_SAVE_RETRY_MS = 30_000

export interface RedisSettings {
  url: string
  password: string | undefined
  timeoutMs: number
  leaseMs: number
  prefix: string
  /** The URL without its password, for messages and `storage.location`. */
  where: string
}

/** ONRAMP_REDIS_URL and friends, checked before anything connects; a problem is exit 7 naming the variable. */
export function redisSettings(env: NodeJS.ProcessEnv): RedisSettings {
  const url = env.ONRAMP_REDIS_URL?.trim()
  if (!url) {
    throw new StorageUnavailableError('ONRAMP_STORAGE=redis needs ONRAMP_REDIS_URL (redis://[:password@]host[:port][/db] or rediss:// for TLS).', {code: 'redis_config'})
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new StorageUnavailableError('ONRAMP_REDIS_URL is not a URL: use redis://[:password@]host[:port][/db] or rediss:// for TLS.', {code: 'redis_config'})
  }
  if (parsed.password) rememberSecret(decodeURIComponent(parsed.password))
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new StorageUnavailableError(`ONRAMP_REDIS_URL must start with redis:// or rediss:// (TLS), not ${parsed.protocol}//.`, {code: 'redis_config'})
  }
  const password = env.ONRAMP_REDIS_PASSWORD || undefined
  rememberSecret(password)
  const where = `${parsed.protocol}//${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname.length > 1 ? parsed.pathname : ''}`
  return {
    url,
    password,
    timeoutMs: positive(env, 'ONRAMP_REDIS_TIMEOUT_MS', REDIS_TIMEOUT_MS),
    leaseMs: positive(env, 'ONRAMP_REDIS_LOCK_LEASE_MS', REDIS_LOCK_LEASE_MS),
    prefix: env.ONRAMP_REDIS_PREFIX ?? 'onramp:',
    where,
  }
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim()
  if (!raw) return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value <= 0) throw new StorageUnavailableError(`${name} must be a whole number of milliseconds above 0, not "${raw}".`, {code: 'redis_config'})
  return value
}

// Lua runs atomically in Redis: each script is one compare-and-act with no other client in between.
/** Writes the sealed session only if its version is still ARGV[1] ('' = absent); keeps the key check. */
const PUT_IF_VERSION = `
local check = redis.call('GET', KEYS[3])
if check and check ~= ARGV[5] then return -1 end
if (redis.call('HGET', KEYS[1], 'v') or '') ~= ARGV[1] then return 0 end
if not check then redis.call('SET', KEYS[3], ARGV[5]) end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
return 1`
const DELETE_SESSION = `
redis.call('SREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])`
/** Releases the lock only if we still own it (compare-and-delete). */
const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`
/** Extends the lease only if we still own the lock. */
const RENEW_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`

export type RedisSessionStore = SessionStore & {
  /** Closes the connection (tests, export/import between two stores); the CLI's exit needs no call. */
  close(): Promise<void>
}

interface Stored {
  version: number
  session: Session
}

export async function openRedisStore({env}: {env: NodeJS.ProcessEnv}): Promise<RedisSessionStore> {
  const settings = redisSettings(env)
  const key = storeKeyFrom(env)
  const {Redis: RedisClient} = await import('ioredis')
  const {timeoutMs, leaseMs, prefix, where} = settings
  const location: StorageLocation = {kind: 'redis', location: `${where}, key prefix ${prefix}`}
  const names = {
    index: `${prefix}sessions`,
    check: `${prefix}key-check`,
    session: (id: string) => `${prefix}session:${id}`,
    lock: (id: string) => `${prefix}lock:${id}`,
  }
  const keyCheck = keyedDigest(key, 'key-check', 'onramp').slice(0, 32)
  const idOf = (identity: SessionKey) => keyedDigest(key, 'session', sessionKey(identity)).slice(0, 32)
  const aadOf = (id: string, version: number) => `onramp session ${id} v${version}`
  const what = (id: string) => `the session ${id} in ${where}`

  let client: Redis | undefined
  let connecting: Promise<Redis> | undefined
  let checked = false

  let lastError: Error | undefined // the socket's own error (ECONNREFUSED...), more telling than "Connection is closed."
  const unavailable = (action: string, error: unknown): StorageUnavailableError => {
    if (error instanceof StorageUnavailableError) return error
    const message = error instanceof Error ? error.message : String(error)
    const detail = lastError && /connection is closed|stream isn't writeable/i.test(message) ? lastError.message : message
    return new StorageUnavailableError(`Redis at ${where} could not ${action} (${detail}). Check ONRAMP_REDIS_URL and that Redis is up; nothing was changed.`, {
      code: 'redis_unavailable',
      cause: error,
    })
  }

  /** A promise settled within timeoutMs: the deadline every Redis call has (ONRAMP_REDIS_TIMEOUT_MS). */
  const deadline = <T>(action: string, work: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      // Rejected from setImmediate, after the poll phase: a process that was starved of CPU past the deadline
      // (a loaded CI machine) first reads the answer that arrived meanwhile instead of calling Redis slow.
      const late = () => reject(new StorageUnavailableError(`Redis at ${where} did not ${action} within ${timeoutMs} ms (ONRAMP_REDIS_TIMEOUT_MS); nothing was changed.`, {code: 'redis_timeout'}))
      timer = setTimeout(() => setImmediate(late), timeoutMs)
    })
    work.catch(() => undefined) // settled after the deadline: already reported
    return Promise.race([work, late]).finally(() => clearTimeout(timer))
  }

  const connect = (): Promise<Redis> =>
    (connecting ??= (async () => {
      const options: RedisOptions = {
        lazyConnect: true,
        // The deadline above governs; ioredis's own timers only back it up (they fire without the starvation grace).
        connectTimeout: timeoutMs * 2,
        commandTimeout: timeoutMs * 2,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => null, // a lost connection fails the call (exit 7); never a silent wait
        ...(settings.password ? {password: settings.password} : {}),
      }
      const redis = new RedisClient(settings.url, options)
      redis.on('error', (error: Error) => (lastError = error)) // every failure also reaches the caller as a rejected call
      try {
        await deadline('accept a connection', redis.connect())
      } catch (error) {
        redis.disconnect()
        connecting = undefined
        throw unavailable('accept a connection', error)
      }
      // The open socket must not keep a finished command alive: pending calls hold their own deadline timers.
      ;(redis as unknown as {stream?: {unref?: () => void}}).stream?.unref?.()
      redis.on('end', () => {
        if (client === redis) {
          client = undefined
          connecting = undefined
        }
      })
      client = redis
      return redis
    })())

  /** One Redis call under the deadline; a failure is exit 7. */
  const call = async <T>(action: string, run: (redis: Redis) => Promise<T>): Promise<T> => {
    const redis = await connect()
    try {
      return await deadline(action, run(redis))
    } catch (error) {
      throw unavailable(action, error)
    }
  }

  /** The first call of a process also proves the key is the one the sessions in this Redis were sealed with. */
  const assertKey = (found: string | null) => {
    if (found !== null && found !== keyCheck) throw new WrongKeyError(`the sessions in ${where} (key prefix ${prefix})`)
    if (found !== null) checked = true
  }

  const decode = (id: string, version: string | null, sealed: string | null): Stored | undefined => {
    if (version === null || sealed === null) return undefined
    const number = Number(version)
    const plain = unseal(key, sealed, aadOf(id, number), what(id))
    let session: Session
    try {
      session = parseSession(JSON.parse(plain))
    } catch (error) {
      throw new StorageUnavailableError(`${what(id)} opened but is not a session (${(error as Error).message}).`, {code: 'store_value_invalid'})
    }
    // The id is an HMAC of the identity: a value moved onto another session's key is refused.
    if (idOf(session) !== id) throw new WrongKeyError(what(id))
    return {version: number, session}
  }

  const read = async (id: string): Promise<Stored | undefined> => {
    const [check, fields] = await call('read a session', async (redis) => {
      const results = await redis.multi().get(names.check).hmget(names.session(id), 'v', 's').exec()
      if (!results) throw new Error('the transaction was aborted')
      for (const [error] of results) if (error) throw error
      return [results[0]![1] as string | null, results[1]![1] as [string | null, string | null]]
    })
    assertKey(check)
    return decode(id, fields[0], fields[1])
  }

  /** Writes `session` as version expected+1 if the stored version is still `expected`. */
  const put = async (session: Session, expected: number | undefined): Promise<boolean> => {
    const id = idOf(session)
    const next = (expected ?? 0) + 1
    const sealed = seal(key, JSON.stringify(session), aadOf(id, next))
    const result = await call('write a session', (redis) =>
      redis.eval(PUT_IF_VERSION, 3, names.session(id), names.index, names.check, expected === undefined ? '' : String(expected), String(next), sealed, id, keyCheck),
    )
    if (result === -1) throw new WrongKeyError(`the sessions in ${where} (key prefix ${prefix})`)
    checked = true
    return result === 1
  }

  /** put() in a loop until it lands: a concurrent writer only moves the version on. */
  const write = async (session: Session): Promise<void> => {
    const id = idOf(session)
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await read(id)
      if (await put(session, current?.version)) return
    }
    throw new StorageUnavailableError(`${what(id)} kept changing under this write; try again.`, {code: 'redis_contention'})
  }

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  const store: RedisSessionStore = {
    kind: 'redis',
    location: location.location,
    describe: () => ({...location}),
    async list() {
      const {ids, check} = await call('list sessions', async (redis) => {
        const results = await redis.multi().get(names.check).smembers(names.index).exec()
        if (!results) throw new Error('the transaction was aborted')
        for (const [error] of results) if (error) throw error
        return {check: results[0]![1] as string | null, ids: results[1]![1] as string[]}
      })
      assertKey(check)
      const found = await Promise.all(
        ids.map(async (id) => {
          const fields = await call('read a session', (redis) => redis.hmget(names.session(id), 'v', 's'))
          return decode(id, fields[0] ?? null, fields[1] ?? null)
        }),
      )
      return found
        .filter((each): each is Stored => each !== undefined)
        .map(({session: {access_token: _a, refresh_token: _r, ...metadata}}): SessionInfo => ({...metadata, storage: {...location}}))
    },
    async get(identity) {
      return (await read(idOf(identity)))?.session
    },
    async save(session) {
      await write(parseSession(session))
      return {storage: {...location}, moved_from: null}
    },
    async replace(session, {ifRefreshToken}) {
      const id = idOf(session)
      const clean = parseSession(session)
      const started = Date.now()
      for (let attempt = 0; attempt < 20; ) {
        try {
          const current = await read(id)
          if (!current) return 'missing' // logged out meanwhile
          if (current.session.refresh_token !== ifRefreshToken) return 'changed' // another process or a newer login won
          if (await put(clean, current.version)) return 'saved'
          attempt++
        } catch (error) {
          // A refresh calls replace() after spending the old refresh token: the new pair is the only one
          // left, so a Redis that went away (a restart, a failover) is waited for a while before giving up.
          if (!(error instanceof StorageUnavailableError) || error instanceof WrongKeyError || !['redis_unavailable', 'redis_timeout'].includes(error.code)) throw error
          if (Date.now() - started > SPENT_SAVE_RETRY_MS) throw error
          await sleep(250)
        }
      }
      throw new StorageUnavailableError(`${what(id)} kept changing under this refresh; try again.`, {code: 'redis_contention'})
    },
    async delete(identity) {
      const id = idOf(identity)
      if (!checked) await read(id) // refuses a wrong key before removing anything
      const removed = await call('delete a session', (redis) => redis.eval(DELETE_SESSION, 2, names.session(id), names.index, id))
      return removed === 1
    },
    async checkWritable() {
      // A replica or a full Redis refuses writes: proved with a short-lived key, along with the key check.
      const probe = `${prefix}probe:${crypto().randomBytes(8).toString('hex')}`
      const check = await call('take a write', async (redis) => {
        const results = await redis.multi().get(names.check).set(probe, '1', 'PX', 5_000).exec()
        if (!results) throw new Error('the transaction was aborted')
        for (const [error] of results) if (error) throw error
        return results[0]![1] as string | null
      })
      assertKey(check)
    },
    async withRefreshLock(identity, fn) {
      const lock = names.lock(idOf(identity))
      const owner = crypto().randomBytes(16).toString('hex')
      const giveUp = Date.now() + LOCK_WAIT_MS
      for (;;) {
        const taken = await call('take the refresh lock', (redis) => redis.set(lock, owner, 'PX', leaseMs, 'NX'))
        if (taken === 'OK') break
        if (Date.now() > giveUp) {
          throw new UnexpectedError(`Timed out after ${LOCK_WAIT_MS / 1000} s waiting for another process's refresh (the lock ${lock} in ${where}); try again.`, {code: 'lock_timeout'})
        }
        await sleep(50 + Math.floor(Math.random() * 100))
      }
      // The lease outlives a killed holder by at most leaseMs; a live one renews it every third of the lease.
      const renew = setInterval(() => {
        void call('renew the refresh lock', (redis) => redis.eval(RENEW_LOCK, 1, lock, owner, String(leaseMs))).catch(() => undefined)
      }, Math.max(100, Math.floor(leaseMs / 3)))
      try {
        return await fn()
      } finally {
        clearInterval(renew)
        await call('release the refresh lock', (redis) => redis.eval(RELEASE_LOCK, 1, lock, owner)).catch(() => undefined) // else its lease ends it
      }
    },
    async close() {
      const redis = client
      client = undefined
      connecting = undefined
      if (redis) await redis.quit().catch(() => redis.disconnect())
    },
  }
  return store
}

export {STORE_KEY_VARIABLE}
