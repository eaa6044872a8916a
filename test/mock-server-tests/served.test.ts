/**
 * The served mock as a real process (`npx tsx test/mock-server/serve.ts --port 0`), driven over HTTP
 * by plain fetch: discovery, a full PKCE code flow through the consent form, and the /__mock/ control surface.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {get, parseForm, pkce, postForm, postJson, redirectParams, US_CLIENT} from './helpers.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

interface Served {
  issuer: string
  child: ChildProcess
  stderr: () => string
  stop: () => Promise<void>
}

function childEnv(): NodeJS.ProcessEnv {
  const env = {...process.env}
  delete env.NODE_ENV
  return env
}

/** Starts the mock in its own process group (npx -> tsx -> node), so stopping it ends all three. */
function spawnServe(args: string[]): {child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | null>} {
  const child = spawn('npx', ['tsx', 'test/mock-server/serve.ts', ...args], {cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true})
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {child, stdout: () => stdout, stderr: () => stderr, exited}
}

async function startServed(args: string[] = []): Promise<Served> {
  const process_ = spawnServe(['--port', '0', ...args])
  const issuer = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mock server did not start: ${process_.stderr()}`)), 25_000)
    process_.child.stdout!.on('data', () => {
      const match = /^mock server listening on (http:\/\/127\.0\.0\.1:(\d+))$/m.exec(process_.stdout())
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    void process_.exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`mock server exited with ${code}: ${process_.stderr()}`))
    })
  })
  return {
    issuer,
    child: process_.child,
    stderr: process_.stderr,
    stop: async () => {
      if (process_.child.exitCode === null && process_.child.pid) process.kill(-process_.child.pid, 'SIGTERM')
      await process_.exited
    },
  }
}

async function control<T>(issuer: string, name: string, body?: unknown): Promise<T> {
  const response = body === undefined ? await get(`${issuer}/__mock/${name}`) : await postJson(`${issuer}/__mock/${name}`, body)
  expect(response.status, `/__mock/${name}`).toBe(200)
  return (await response.json()) as T
}

describe('served mock (npm run mock-server)', () => {
  let served: Served

  beforeAll(async () => {
    served = await startServed()
  })

  afterAll(async () => {
    await served?.stop()
  })

  it('prints the readiness line with the real port and serves metadata with its own origin as issuer', async () => {
    expect(served.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(served.issuer).not.toBe('http://127.0.0.1:0')
    const metadata = (await (await get(`${served.issuer}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown> & {scopes_supported: string[]}
    expect(metadata).toMatchObject({issuer: served.issuer, token_endpoint: `${served.issuer}/oauth/token/`})
    expect(metadata).not.toHaveProperty('posthog_region')
    expect(metadata.scopes_supported).toHaveLength(212)
  })

  it('runs a full PKCE code flow through the consent form, then the API accepts the token', async () => {
    const {verifier, challenge} = pkce()
    const authorize = new URL(`${served.issuer}/oauth/authorize/`)
    for (const [key, value] of Object.entries({client_id: US_CLIENT, redirect_uri: 'http://localhost:8239/callback', response_type: 'code', state: 'served', code_challenge: challenge, code_challenge_method: 'S256', scope: 'user:read project:read'})) {
      authorize.searchParams.set(key, value)
    }
    const page = await get(authorize.toString())
    expect(page.status).toBe(200)
    const form = parseForm(await page.text())
    expect(form.action).toBe(`${served.issuer}/oauth/authorize/`)
    const approved = await postForm(form.action, {...form.fields, decision: 'allow'})
    expect(approved.status).toBe(302)
    const callback = redirectParams(approved)
    expect(callback.get('state')).toBe('served')
    const tokenResponse = await postForm(`${served.issuer}/oauth/token/`, {grant_type: 'authorization_code', code: callback.get('code')!, code_verifier: verifier, redirect_uri: 'http://localhost:8239/callback', client_id: US_CLIENT})
    expect(tokenResponse.status).toBe(200)
    const tokens = (await tokenResponse.json()) as {access_token: string; refresh_token: string; scope: string}
    expect(tokens.scope).toBe('user:read project:read')
    const me = await get(`${served.issuer}/api/users/@me/`, {authorization: `Bearer ${tokens.access_token}`})
    expect(await me.json()).toMatchObject({email: 'dev@example.com'})

    const state = await control<{counters: {requests: Record<string, number>; grants: Record<string, number>}}>(served.issuer, 'state')
    expect(state.counters.requests).toMatchObject({'GET /oauth/authorize/': 1, 'POST /oauth/authorize/': 1, 'POST /oauth/token/': 1, 'GET /api/users/@me/': 1})
    expect(Object.keys(state.counters.requests).some((key) => key.includes('/__mock/'))).toBe(false)
    expect(state.counters.grants).toMatchObject({authorization_code: 1})

    // An admin narrows the ceiling: the next refresh narrows silently.
    await control(served.issuer, 'apps', {client_id: US_CLIENT, scopes: ['user:read']})
    const refreshed = await postForm(`${served.issuer}/oauth/token`, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: US_CLIENT})
    expect(await refreshed.json()).toMatchObject({scope: 'user:read'})
    await control(served.issuer, 'apps', {client_id: US_CLIENT, scopes: ['@default', 'llm_gateway:read', 'wizard_session:read', 'wizard_session:write']})
  })

  it('records the invalid_scope event, readable at /__mock/events', async () => {
    const url = new URL(`${served.issuer}/oauth/authorize`)
    for (const [key, value] of Object.entries({client_id: US_CLIENT, redirect_uri: 'http://127.0.0.1:9000/callback', response_type: 'code', state: 's', code_challenge: pkce().challenge, code_challenge_method: 'S256', scope: 'user:read llm_gateway:write'})) {
      url.searchParams.set(key, value)
    }
    const response = await get(url.toString(), {'user-agent': 'served-test'})
    expect(redirectParams(response).get('error')).toBe('invalid_scope')
    const events = await control<Array<Record<string, unknown>>>(served.issuer, 'events')
    expect(events.find((event) => event.event === 'oauth.authorize.invalid_scope')).toMatchObject({level: 'warn', missing_scopes: ['llm_gateway:write'], user_agent: 'served-test', client_id: US_CLIENT})
  })

  it('control: users, config (fail_next, policy), tokens/expire', async () => {
    expect(await control(served.issuer, 'users', {email: 'served@example.com'})).toMatchObject({email: 'served@example.com'})
    const users = (await control<{users: Array<{email: string}>}>(served.issuer, 'state')).users.map((user) => user.email)
    expect(users).toContain('served@example.com')
    await control(served.issuer, 'config', {fail_next: {path: '/oauth/token', status: 503, count: 1}})
    const failed = await postForm(`${served.issuer}/oauth/token/`, {grant_type: 'refresh_token', refresh_token: 'x', client_id: US_CLIENT})
    expect(failed.status).toBe(503)
    expect(failed.headers.get('retry-after')).toBe('1')
    expect(await control(served.issuer, 'config', {policy: 'clamp'})).toMatchObject({policy: 'clamp'})
    expect(await control(served.issuer, 'tokens/expire', {})).toHaveProperty('expired')
    expect((await postJson(`${served.issuer}/__mock/config`, {policy: 'bogus'})).status).toBe(400)
  })

  it('a taken port -> a clear error and exit 1', async () => {
    const port = new URL(served.issuer).port
    const second = spawnServe(['--port', port])
    expect(await second.exited).toBe(1)
    expect(second.stderr()).toContain(`port ${port} on 127.0.0.1 is already in use`)
    expect(second.stdout()).not.toContain('listening')
  })
})

describe('served mock with --policy clamp --auto-approve', () => {
  let served: Served

  beforeAll(async () => {
    served = await startServed(['--policy', 'clamp', '--auto-approve'])
  })

  afterAll(async () => {
    await served?.stop()
  })

  it('redirects straight away and drops out-of-ceiling scopes', async () => {
    const {verifier, challenge} = pkce()
    const url = new URL(`${served.issuer}/oauth/authorize/`)
    for (const [key, value] of Object.entries({client_id: US_CLIENT, redirect_uri: 'http://localhost:8239/callback', response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256', scope: 'user:read llm_gateway:write'})) {
      url.searchParams.set(key, value)
    }
    const response = await get(url.toString())
    expect(response.status).toBe(302)
    const code = redirectParams(response).get('code')!
    const tokens = await postForm(`${served.issuer}/oauth/token/`, {grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: 'http://localhost:8239/callback', client_id: US_CLIENT})
    expect(await tokens.json()).toMatchObject({scope: 'user:read'})
    expect(await control(served.issuer, 'state')).toMatchObject({config: {policy: 'clamp', auto_approve: true}})
  })
})
