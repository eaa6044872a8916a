import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {Redis} from 'ioredis'
import {afterEach, beforeAll, beforeEach} from 'vitest'

import {newStoreKey} from '../../src/session/seal.js'
import {isolatedHome, runCli, type CliResult} from './cli.js'
import {freeLoopbackPort} from './free-port.js'
import {forFile} from './lifecycle.js'
import {startMockProcess, WIZARD_CLIENT_ID, type MockProcess} from './mock-process.js'

/**
 * A real redis-server (Debian's, installed by .ci/run) for the Redis store's tests: its own temp folder,
 * a free loopback port, an append-only file so a stop and start keeps what it held (a restart), and
 * stopped by the test. Never a fake: the store's Lua, TTLs and NX are Redis's own.
 */
export interface RedisServer {
  port: number
  url: string
  dir: string
  /** A client for the test's own look at what Redis holds (closed by stop()). */
  client(): Redis
  /** Stops the server (SIGTERM, waits for its exit); the data stays in `dir`. */
  stop(): Promise<void>
  /** Starts it again on the same port and folder, with what it held. */
  start(): Promise<void>
  /** Stops it and removes its folder. */
  destroy(): Promise<void>
}

/** Why the Redis tests cannot run here, or false. ONRAMP_REQUIRE_REDIS_TESTS=1 (.ci/run) makes a missing server a failure. */
export function redisServerUnavailable(): string | false {
  const found = spawnSync('redis-server', ['--version'], {encoding: 'utf8'})
  const reason = found.status === 0 ? false : 'redis-server is not installed (apt-get install redis-server)'
  if (reason && process.env.ONRAMP_REQUIRE_REDIS_TESTS === '1') throw new Error(`${reason}; ONRAMP_REQUIRE_REDIS_TESTS=1 forbids skipping`)
  return reason
}

export async function startRedisServer(): Promise<RedisServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'onramp-redis-'))
  let child: ChildProcess | undefined
  let port = 0
  const clients: Redis[] = []

  const launch = async (): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      if (port === 0 || attempt > 0) port = await freeLoopbackPort()
      try {
        child = await spawnServer(dir, port)
        return
      } catch (error) {
        if (attempt >= 4) throw error // the port was taken between picking and binding: pick another
      }
    }
  }
  const relaunch = async (): Promise<void> => {
    // Same port (clients keep their URL): wait until the old socket is free.
    const until = Date.now() + 10_000
    for (;;) {
      try {
        child = await spawnServer(dir, port)
        return
      } catch (error) {
        if (Date.now() > until) throw error
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  }
  const stop = async (): Promise<void> => {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null) return
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve())
      running.kill('SIGTERM')
    })
  }

  await launch()
  return {
    get port() {
      return port
    },
    get url() {
      return `redis://127.0.0.1:${port}`
    },
    dir,
    client() {
      const client = new Redis(port, '127.0.0.1', {lazyConnect: false, maxRetriesPerRequest: 1})
      client.on('error', () => undefined)
      clients.push(client)
      return client
    },
    stop,
    start: relaunch,
    async destroy() {
      for (const client of clients.splice(0)) client.disconnect()
      await stop()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

function spawnServer(dir: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--protected-mode', 'yes', '--loglevel', 'notice'],
    {cwd: dir, stdio: ['ignore', 'pipe', 'pipe']},
  )
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`redis-server did not start in time:\n${out}`))
    }, 20_000)
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve(child)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited with ${code}:\n${out}`))
    })
  })
}

/**
 * A TCP proxy on a free loopback port in front of `target`, holding every chunk `latencyMs` in each
 * direction (order kept): a slow or far-away Redis. `latencyMs` can change while it runs.
 */
export async function startLatencyProxy(targetPort: number, latencyMs: number): Promise<{url: string; port: number; setLatency(ms: number): void; close(): Promise<void>}> {
  let latency = latencyMs
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    sockets.add(client).add(upstream)
    const relay = (from: net.Socket, to: net.Socket) => {
      let chain = Promise.resolve()
      from.on('data', (chunk) => {
        const wait = latency
        chain = chain.then(() => new Promise((resolve) => setTimeout(resolve, wait))).then(() => {
          if (!to.destroyed) to.write(chunk)
        })
      })
      from.on('close', () => void chain.then(() => to.destroy()))
      from.on('error', () => to.destroy())
    }
    relay(client, upstream)
    relay(upstream, client)
    client.on('close', () => sockets.delete(client))
    upstream.on('close', () => sockets.delete(upstream))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as net.AddressInfo
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    setLatency: (ms) => (latency = ms),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** One "machine" of a Redis fleet: its own HOME and XDG folders (no lock file shared), the fleet's Redis and key. */
export interface FleetMachine {
  home: ReturnType<typeof isolatedHome>
  env: Record<string, string>
  /** Runs the built binary on this machine, with `more` on top of its environment and `input` on stdin. */
  run(args: string[], more?: Record<string, string>, input?: string): Promise<CliResult>
}

export interface RedisFleet {
  readonly redis: RedisServer
  readonly mock: MockProcess
  /** This test's Redis key prefix (the tests of a file share one server) and store key. */
  readonly prefix: string
  readonly key: string
  /** A new machine for this test (its home removed after it); `extra` on top of its environment. */
  machine(extra?: Record<string, string>): FleetMachine
}

/**
 * The set-up of the e2e tests of sessions in Redis: a real redis-server and the served mock (rate limits
 * off: many signups from one caller) for the file; for each test a fresh store key and key prefix
 * (`${label}N:`), and machines that point `onramp` at that Redis with ONRAMP_STORAGE=redis and at the
 * mock's wizard app. Nothing starts when `unavailable` (the file's tests are skipped, saying why).
 */
export function redisFleetForFile(label: string, unavailable: string | false): RedisFleet {
  const redis = forFile('redis-server', startRedisServer, (started) => started.destroy(), {unless: unavailable})
  const mock = forFile('the mock', () => startMockProcess(), (started) => started.stop(), {unless: unavailable})
  const homes: ReturnType<typeof isolatedHome>[] = []
  let key = ''
  let prefix = ''
  let count = 0
  beforeAll(async () => {
    if (!unavailable) await mock().control('config', {rate_limit: false})
  })
  beforeEach(() => {
    key = newStoreKey()
    prefix = `${label}${++count}:`
  })
  afterEach(() => {
    for (const home of homes.splice(0)) home.cleanup()
  })
  const fleet: RedisFleet = {
    get redis() {
      return redis()
    },
    get mock() {
      return mock()
    },
    get prefix() {
      return prefix
    },
    get key() {
      return key
    },
    machine(extra = {}) {
      const home = isolatedHome()
      homes.push(home)
      const env = {
        ...home.env,
        ONRAMP_STORAGE: 'redis',
        ONRAMP_REDIS_URL: fleet.redis.url,
        ONRAMP_REDIS_PREFIX: prefix,
        ONRAMP_STORE_KEY: key,
        ONRAMP_HOST: fleet.mock.issuer,
        ONRAMP_CLIENT_ID: WIZARD_CLIENT_ID,
        ...extra,
      }
      return {home, env, run: (args, more = {}, input) => runCli(args, {env: {...env, ...more}, ...(input === undefined ? {} : {input})})}
    },
  }
  return fleet
}
