/**
 * Issue 19, the far-region connection with a real slow first address: `localhost` answers with two
 * addresses (a lookup preloaded into the CLI, test/fixtures/lookup-addresses.mjs): first 127.0.0.2, where
 * a listener whose process is stopped and whose accept queue is full takes no new connection (the SYN is
 * dropped, as on a route that loses packets), then 127.0.0.1, where the server answers. The built CLI
 * must move on to the second address, and only after its per-address attempt timeout (2 s, or
 * ONRAMP_CONNECT_ATTEMPT_TIMEOUT_MS), not Node's 250 ms. Each connection the CLI makes is logged from
 * inside it: the addresses Node's happy eyeballs attempted, and the time from the lookup's answer to the
 * connection, whose lower bound is the attempt timeout (a busy machine only makes it longer).
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readFileSync, rmSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {connect, type Socket} from 'node:net'
import path from 'node:path'

import {afterAll, beforeAll, expect, it} from 'vitest'

import {isolatedHome, ROOT, runCli} from '../support/cli.js'
import {describeUnless} from '../support/skip.js'
import {waitFor} from '../support/wait-for.js'

const PRELOAD = path.join(ROOT, 'test', 'fixtures', 'lookup-addresses.mjs')
const SLOW = '127.0.0.2'
const GOOD = '127.0.0.1'

// 127.0.0.2 is a loopback address only on Linux (macOS routes 127.0.0.1 alone); /proc tells when the listener has stopped.
describeUnless(process.platform !== 'linux' && 'Linux only: a second loopback address (127.0.0.2) and /proc')('a host whose first address drops connections (a far or broken route)', () => {
  let server: Server
  let port: number
  let stopped: ChildProcess
  const fillers: Socket[] = []
  const home = isolatedHome()

  /** Connects to SLOW:port; resolves whether it connected within `ms`. */
  function connectsWithin(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect({host: SLOW, port})
      const timer = setTimeout(() => {
        socket.destroy()
        resolve(false)
      }, ms)
      socket.once('connect', () => {
        clearTimeout(timer)
        fillers.push(socket)
        resolve(true)
      })
      socket.once('error', () => {
        clearTimeout(timer)
        resolve(false)
      })
    })
  }

  beforeAll(async () => {
    // The server, on the second address: metadata naming http://localhost:PORT, and no app ceiling (404).
    server = createServer((request, response) => {
      if (request.url === '/.well-known/oauth-authorization-server') {
        const issuer = `http://localhost:${port}`
        response.writeHead(200, {'content-type': 'application/json'})
        response.end(JSON.stringify({issuer, authorization_endpoint: `${issuer}/oauth/authorize`, token_endpoint: `${issuer}/oauth/token`}))
        return
      }
      response.writeHead(404, {'content-type': 'application/json'}).end('{}')
    })
    await new Promise<void>((resolve) => server.listen(0, GOOD, resolve))
    port = (server.address() as {port: number}).port
    // The first address: a listener on the same port whose process is stopped, its accept queue (backlog 1) filled.
    stopped = spawn(process.execPath, ['-e', `const s = require('node:net').createServer(); s.listen({host: '${SLOW}', port: ${port}, backlog: 1}, () => console.log('listening'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    await new Promise<void>((resolve, reject) => {
      stopped.stdout!.once('data', () => resolve())
      stopped.once('exit', (code) => reject(new Error(`the listener on ${SLOW}:${port} exited with ${code}`)))
    })
    stopped.kill('SIGSTOP')
    await waitFor(`process ${stopped.pid} stopped`, () => /^\d+ \(.*\) [tT]/.test(readFileSync(`/proc/${stopped.pid}/stat`, 'utf8')))
    // Fill its queue until a connection is no longer taken: from then on, SLOW:port drops new connections.
    // Two refusals in a row, so one slow connection on a busy machine is not taken for a full queue.
    let refusedInARow = 0
    for (let i = 0; i < 16 && refusedInARow < 2; i++) refusedInARow = (await connectsWithin(1000)) ? 0 : refusedInARow + 1
    const blackholed = refusedInARow >= 2
    if (!blackholed) throw new Error(`${SLOW}:${port} kept accepting connections: cannot make a slow first address here`)
  }, 60_000)

  afterAll(async () => {
    for (const socket of fillers) socket.destroy()
    stopped?.kill('SIGKILL')
    await new Promise((resolve) => server?.close(resolve))
    home.cleanup()
  })

  /** `onramp scopes --check` against http://localhost:PORT, localhost answering SLOW then GOOD; the connections it made. */
  async function checkThroughSlowFirstAddress(extra: Record<string, string> = {}): Promise<Array<{attempted: string[] | null; ms: number | null}>> {
    const log = path.join(home.home, `connections-${Math.random().toString(36).slice(2)}.jsonl`)
    const result = await runCli(['scopes', '--check', '--host', `http://localhost:${port}`, '--client-id', 'an-app', '--json'], {
      env: {
        ...home.env,
        NODE_OPTIONS: `--import ${PRELOAD}`,
        ONRAMP_TEST_LOOKUP: JSON.stringify({localhost: [SLOW, GOOD]}),
        ONRAMP_TEST_CONNECT_LOG: log,
        ...extra,
      },
      timeoutMs: 60_000,
    })
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({issuer: `http://localhost:${port}`, ok: true})
    expect(existsSync(log), 'the preload logged no connection').toBe(true)
    const connections = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as {attempted: string[] | null; ms: number | null})
    rmSync(log, {force: true})
    return connections
  }

  it('is given the 2 s attempt timeout, then the second address answers', async () => {
    const connections = await checkThroughSlowFirstAddress()
    expect(connections.length).toBeGreaterThan(0)
    for (const connection of connections) {
      expect(connection.attempted).toEqual([`${SLOW}:${port}`, `${GOOD}:${port}`])
      // Node's own default would have moved on after 250 ms.
      expect(connection.ms).toBeGreaterThanOrEqual(2000)
    }
  }, 60_000)

  it('ONRAMP_CONNECT_ATTEMPT_TIMEOUT_MS sets the wait (3000), and a value under 1000 is not taken (the 2 s default stays)', async () => {
    for (const connection of await checkThroughSlowFirstAddress({ONRAMP_CONNECT_ATTEMPT_TIMEOUT_MS: '3000'})) {
      expect(connection.attempted).toEqual([`${SLOW}:${port}`, `${GOOD}:${port}`])
      expect(connection.ms).toBeGreaterThanOrEqual(3000)
    }
    for (const connection of await checkThroughSlowFirstAddress({ONRAMP_CONNECT_ATTEMPT_TIMEOUT_MS: '300'})) {
      expect(connection.attempted).toEqual([`${SLOW}:${port}`, `${GOOD}:${port}`])
      expect(connection.ms).toBeGreaterThanOrEqual(2000)
    }
  }, 90_000)
})
