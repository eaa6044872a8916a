/**
 * One refresh per expiry across machines (ONRAMP_STORAGE=redis): `onramp token` processes on several
 * "machines" (their own HOME and XDG folders, so no lock file is shared) on one provisioning session whose
 * access token is about to expire. The provisioning token endpoint rotates with NO grace period (server.md
 * 4.2): a second refresh of the same token is invalid_grant, so only the Redis lock keeps them all alive.
 * A real redis-server, the mock as a process, the built binary. Heavy: 2 shared cores, generous timeouts.
 */
import {spawn} from 'node:child_process'

import {beforeEach, expect, it} from 'vitest'

import {BIN, cliEnv, ROOT, runCli} from '../support/cli.js'
import {redisFleetForFile, redisServerUnavailable, startLatencyProxy} from '../support/redis-server.js'
import {describeUnless} from '../support/skip.js'
import {expectOneToken, tokenStorm} from '../support/token-storm.js'
import {waitFor} from '../support/wait-for.js'

const noRedis = redisServerUnavailable()
const fleet = redisFleetForFile('storm', noRedis)
beforeEach(async () => {
  if (!noRedis) await fleet.mock.control('config', {latency_ms: 0, access_token_ttl: null})
})

/** `n` machines' environments: the shared Redis and key, each with its own HOME and XDG folders. */
const machines = (n: number, extra: Record<string, string> = {}) => Array.from({length: n}, () => fleet.machine(extra).env)

/** A signup session in Redis whose access token expires within `token`'s 60 s margin; returns that token. */
async function seedExpiringSession(env: Record<string, string>): Promise<{accessToken: string; projectId: string}> {
  await fleet.mock.control('config', {access_token_ttl: 20})
  try {
    const signup = await runCli(['signup', '--email', `${fleet.prefix.replace(':', '')}@example.com`, '--non-interactive', '--json'], {env, timeoutMs: 120_000})
    expect(signup.code, signup.stderr).toBe(0)
    const {project} = JSON.parse(signup.stdout) as {project: {id: string}}
    const token = await runCli(['token', '--json', '--min-valid', '0'], {env, timeoutMs: 60_000})
    expect(token.code, token.stderr).toBe(0)
    return {accessToken: (JSON.parse(token.stdout) as {access_token: string}).access_token, projectId: project.id}
  } finally {
    await fleet.mock.control('config', {access_token_ttl: null}) // refreshed tokens live long: one refresh suffices
  }
}

const refreshes = async () =>
  (await fleet.mock.control<{counters: {provisioning: {token_requests: {refresh_token: number}}}}>('state')).counters.provisioning.token_requests.refresh_token

async function works(accessToken: string, projectId: string): Promise<boolean> {
  const read = await fetch(`${fleet.mock.issuer}/api/agentic/provisioning/resources/${projectId}`, {headers: {authorization: `Bearer ${accessToken}`}})
  return read.status === 200
}

async function lockKeys(): Promise<string[]> {
  return fleet.redis.client().keys(`${fleet.prefix}lock:*`)
}

describeUnless(noRedis)('refresh storms on a Redis store shared by several machines (a real redis-server)', () => {
  it('64 processes on 4 machines, token about to expire: exactly 1 refresh, 0 failures, 1 distinct token', async () => {
    const envs = machines(4)
    const {accessToken, projectId} = await seedExpiringSession(envs[0]!)
    const before = await refreshes()
    const started = Date.now()
    const runs = await tokenStorm(envs, 16, 540_000)
    const wall = Date.now() - started
    const token = expectOneToken(runs)
    expect(token).toMatch(/^pha_/)
    expect(token).not.toBe(accessToken)
    expect(await refreshes()).toBe(before + 1)
    expect(await works(token!, projectId)).toBe(true)
    expect(await lockKeys()).toEqual([]) // released by its holder
    console.log(`64-process Redis storm: ${wall} ms wall time`)
  }, 600_000)

  it('the lock holder SIGKILLed mid-refresh: another process takes over after the lease and the session survives', async () => {
    const envs = machines(4, {ONRAMP_REDIS_LOCK_LEASE_MS: '4000'})
    const {projectId} = await seedExpiringSession(envs[0]!)
    const before = await refreshes()
    // The holder talks to Redis through a slow link: once it holds the lock, its next call (the re-read
    // before the refresh) takes seconds, and it is killed there, holding the lock, before spending anything.
    const proxy = await startLatencyProxy(fleet.redis.port, 600)
    try {
      const holder = spawn(process.execPath, [BIN, 'token'], {
        cwd: ROOT,
        env: cliEnv({...envs[0]!, ONRAMP_REDIS_URL: proxy.url, ONRAMP_REDIS_TIMEOUT_MS: '20000'}),
        stdio: 'ignore',
      })
      const exited = new Promise((resolve) => holder.on('exit', resolve))
      await waitFor('the holder to take the refresh lock', async () => (await lockKeys()).length > 0, {timeoutMs: 60_000})
      holder.kill('SIGKILL')
      await exited
    } finally {
      await proxy.close()
    }
    const [lock] = await lockKeys()
    expect(lock).toBeDefined() // left behind: only its lease ends it
    const leaseLeft = await fleet.redis.client().pttl(lock!)
    expect(leaseLeft).toBeGreaterThan(0)

    const started = Date.now()
    const token = expectOneToken(await tokenStorm(envs, 4, 240_000))
    expect(Date.now() - started).toBeGreaterThanOrEqual(leaseLeft - 200) // nobody refreshed under the dead holder's lock
    expect(await refreshes()).toBe(before + 1)
    expect(await works(token, projectId)).toBe(true)
  }, 400_000)

  it('Redis stopped mid-storm: the others exit 7 naming Redis, nothing is spent twice, and the next run after Redis is back works', async () => {
    const envs = machines(4, {ONRAMP_REDIS_TIMEOUT_MS: '3000'})
    const {projectId} = await seedExpiringSession(envs[0]!)
    const before = await refreshes()
    await fleet.mock.control('config', {latency_ms: 2_500}) // the holder's refresh request is in flight while Redis goes
    const running = tokenStorm(envs, 4, 240_000)
    await waitFor('a process to take the refresh lock', async () => (await lockKeys()).length > 0, {timeoutMs: 60_000})
    await new Promise((resolve) => setTimeout(resolve, 500))
    await fleet.redis.stop()
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    await fleet.redis.start()
    const runs = await running
    await fleet.mock.control('config', {latency_ms: 0})

    for (const run of runs) expect([0, 7], run.stderr).toContain(run.code)
    const failed = runs.filter((run) => run.code === 7)
    expect(failed.length).toBeGreaterThan(0)
    for (const run of failed) expect(run.stderr).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+/)
    for (const run of runs) expect(run.stderr).not.toMatch(/invalid_grant|expired/i)
    expect(await refreshes()).toBe(before + 1) // nothing spent twice

    const next = await runCli(['token'], {env: envs[3]!, timeoutMs: 60_000})
    expect(next.code, next.stderr).toBe(0)
    expect(await works(next.stdout.trim(), projectId)).toBe(true)
    const succeeded = runs.filter((run) => run.code === 0).map((run) => run.stdout.trim())
    for (const token of succeeded) expect(token).toBe(next.stdout.trim())
    expect(await refreshes()).toBe(before + 1)
  }, 400_000)

  it('a Redis slower than ONRAMP_REDIS_TIMEOUT_MS: exit 7 within the deadline, no refresh token spent, the session intact', async () => {
    const [env] = machines(1)
    const {projectId} = await seedExpiringSession(env!)
    const before = await refreshes()
    const proxy = await startLatencyProxy(fleet.redis.port, 1_500)
    try {
      const started = Date.now()
      const slow = await runCli(['token'], {env: {...env!, ONRAMP_REDIS_URL: proxy.url, ONRAMP_REDIS_TIMEOUT_MS: '1000'}, timeoutMs: 60_000})
      const elapsed = Date.now() - started
      expect(slow.code, slow.stderr).toBe(7)
      expect(slow.stderr).toContain('ONRAMP_REDIS_TIMEOUT_MS')
      expect(elapsed).toBeLessThan(1_000 + 10_000) // the deadline plus a loaded machine's start-up
    } finally {
      await proxy.close()
    }
    expect(await refreshes()).toBe(before) // nothing spent
    const next = await runCli(['token'], {env: env!, timeoutMs: 60_000})
    expect(next.code, next.stderr).toBe(0)
    expect(await works(next.stdout.trim(), projectId)).toBe(true)
    expect(await refreshes()).toBe(before + 1)
  }, 300_000)

  it('a slow Redis (a proxy adding latency): still exactly 1 refresh and 1 distinct token', async () => {
    const proxy = await startLatencyProxy(fleet.redis.port, 40)
    try {
      const envs = machines(4)
      const {projectId} = await seedExpiringSession(envs[0]!)
      const slow = envs.map((env) => ({...env, ONRAMP_REDIS_URL: proxy.url}))
      const before = await refreshes()
      const token = expectOneToken(await tokenStorm(slow, 4, 240_000))
      expect(await refreshes()).toBe(before + 1)
      expect(await works(token, projectId)).toBe(true)
    } finally {
      await proxy.close()
    }
  }, 400_000)
})
