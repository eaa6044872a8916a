import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createFileStore} from '../../src/session/file-store.js'
import type {Session} from '../../src/session/session.js'
import {isolatedHome, ROOT, runCli, type CliResult} from '../support/cli.js'

/**
 * The hot commands (token, status, scopes, --version) are answered by src/fast/ without @oclif/core.
 * Every command line here runs twice, on the fast path and with ONRAMP_NO_FAST_PATH=1 (oclif), and
 * both must print the same stdout and stderr and exit the same. A preloaded probe says which path
 * answered, so a fast path that silently always declined would fail the "answered without oclif" cases.
 */
const probeDir = mkdtempSync(path.join(tmpdir(), 'onramp-probe-'))
const PROBE = pathToFileURL(path.join(ROOT, 'test', 'fixtures', 'oclif-probe.mjs')).href
let probes = 0

async function runWithProbe(args: string[], env: Record<string, string | undefined>): Promise<CliResult & {oclifLoaded: boolean}> {
  const file = path.join(probeDir, `probe-${probes++}.json`)
  const result = await runCli(args, {env: {...env, NODE_OPTIONS: `--import=${PROBE}`, ONRAMP_TEST_PROBE_FILE: file}})
  const {oclifLoaded} = JSON.parse(readFileSync(file, 'utf8')) as {oclifLoaded: boolean}
  return {...result, oclifLoaded}
}

async function bothPaths(args: string[], env: Record<string, string | undefined>) {
  // Each path keeps its own state folder: one-time notices (session/notices.ts) are remembered there, and
  // the two runs are concurrent, so a shared folder would let one path see the other's notice as shown.
  const state = (name: string) => (env.XDG_STATE_HOME ? {XDG_STATE_HOME: path.join(env.XDG_STATE_HOME, name)} : {})
  const [fast, oclif] = await Promise.all([
    runWithProbe(args, {...env, ...state('fast')}),
    runWithProbe(args, {...env, ...state('oclif'), ONRAMP_NO_FAST_PATH: '1'}),
  ])
  expect(oclif.oclifLoaded).toBe(true)
  return {fast, oclif, same: (({oclifLoaded: _, ...output}) => output)(fast)}
}

const withSession = isolatedHome()
const empty = isolatedHome()
const issuer = 'https://us.posthog.com'
const session: Session = {
  issuer,
  client_id: 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM',
  region: 'us',
  access_token: `pha_${'f'.repeat(44)}`,
  refresh_token: `phr_${'f'.repeat(44)}`,
  expires_at: new Date(Date.now() + 86_400_000).toISOString(),
  scope: ['user:read', 'project:read'],
  user: {email: 'fast@example.com'},
  obtained_at: new Date().toISOString(),
  kind: 'oauth',
}

beforeAll(async () => {
  await createFileStore({path: path.join(withSession.env.XDG_CONFIG_HOME!, 'onramp', 'credentials.json')}).save(session)
})

afterAll(() => {
  withSession.cleanup()
  empty.cleanup()
  rmSync(probeDir, {recursive: true, force: true})
})

type Case = [title: string, args: string[], env: Record<string, string | undefined>, exit: number]

describe('the fast path answers the hot commands exactly as oclif does', () => {
  const cases: Case[] = [
    ['--version', ['--version'], empty.env, 0],
    ['token with a stored session', ['token'], withSession.env, 0],
    ['token --json with a stored session', ['token', '--json'], withSession.env, 0],
    ['token --verbose --region us', ['token', '--verbose', '--region', 'us'], withSession.env, 0],
    ['token --region=eu when only us is logged in (exit 3)', ['token', '--region=eu'], withSession.env, 3],
    ['token with ONRAMP_REGION=eu from the environment (exit 3)', ['token'], {...withSession.env, ONRAMP_REGION: 'eu'}, 3],
    ['token with no session (exit 3)', ['token'], empty.env, 3],
    ['token --json with no session (exit 3, JSON error)', ['token', '--json'], empty.env, 3],
    ['token with ONRAMP_TOKEN', ['token'], {...empty.env, ONRAMP_TOKEN: 'pha_from_env'}, 0],
    ['token --json with ONRAMP_TOKEN', ['token', '--json'], {...empty.env, ONRAMP_TOKEN: 'pha_from_env'}, 0],
    // The server variables are read by the selection, not the flag parser: both paths refuse a bad one alike.
    ['token with ONRAMP_REGION=ap (exit 2)', ['token'], {...withSession.env, ONRAMP_REGION: 'ap'}, 2],
    ['token --account another account (exit 3)', ['token', '--account', 'ci@example.com'], withSession.env, 3],
    ['token with an unknown ONRAMP_STORAGE (exit 2)', ['token'], {...withSession.env, ONRAMP_STORAGE: 'floppy'}, 2],
    ['status', ['status'], withSession.env, 0],
    ['status --json', ['status', '--json'], withSession.env, 0],
    ['status --host with a custom issuer (exit 3)', ['status', '--host', 'https://auth.example.com/'], withSession.env, 3],
    ['status with no session (exit 3)', ['status'], empty.env, 3],
    ['status --json with no session (exit 3)', ['status', '--json'], empty.env, 3],
    ['status with ONRAMP_TOKEN', ['status', '--json'], {...empty.env, ONRAMP_TOKEN: 'pha_from_env'}, 0],
    ['scopes', ['scopes'], empty.env, 0],
    ['scopes --json', ['scopes', '--json'], empty.env, 0],
  ]
  it.each(cases)('%s', async (_title, args, env, exit) => {
    const {fast, oclif, same} = await bothPaths(args, env)
    expect(fast.oclifLoaded).toBe(false)
    expect(same).toEqual({code: oclif.code, stdout: oclif.stdout, stderr: oclif.stderr})
    expect(fast.code).toBe(exit)
  })

  it('prints the stored token alone on stdout', async () => {
    const {fast} = await bothPaths(['token'], withSession.env)
    expect(fast).toMatchObject({code: 0, stdout: `${session.access_token}\n`, stderr: ''})
  })
})

describe('command lines the fast path does not fully understand go to oclif, which answers as before', () => {
  const cases: Case[] = [
    ['token --help', ['token', '--help'], withSession.env, 0],
    ['status -h (a short flag: oclif shows the help)', ['status', '-h'], withSession.env, 0],
    ['token with an unknown flag (exit 2)', ['token', '--bogus'], withSession.env, 2],
    ['token --toString, a name every object inherits (exit 2)', ['token', '--toString'], withSession.env, 2],
    ['status --valueOf --json (exit 2, JSON error)', ['status', '--valueOf', '--json'], withSession.env, 2],
    ['scopes --__proto__ (exit 2)', ['scopes', '--__proto__'], empty.env, 2],
    ['token --constructor=x (exit 2)', ['token', '--constructor=x'], withSession.env, 2],
    ['token with an argument (exit 2)', ['token', 'extra'], withSession.env, 2],
    ['token --host without a value (exit 2)', ['token', '--host'], withSession.env, 2],
    ['token --region given twice (exit 2)', ['token', '--region', 'us', '--region', 'eu'], withSession.env, 2],
    ['status --region ap --json (exit 2, JSON error)', ['status', '--region', 'ap', '--json'], withSession.env, 2],
    ['token --json with ONRAMP_CONTENT_TYPE=json', ['token'], {...withSession.env, ONRAMP_CONTENT_TYPE: 'json'}, 0],
    ['scopes --check against an unreachable server (exit 6)', ['scopes', '--check', '--host', 'http://127.0.0.1:9'], empty.env, 6],
    ['help token', ['help', 'token'], empty.env, 0],
    ['token --min-valid 7200 (a flag only oclif parses)', ['token', '--min-valid', '7200', '--host', 'http://127.0.0.1:9'], empty.env, 3],
  ]
  it.each(cases)('%s', async (_title, args, env, exit) => {
    const {fast, oclif, same} = await bothPaths(args, env)
    expect(fast.oclifLoaded).toBe(true)
    expect(same).toEqual({code: oclif.code, stdout: oclif.stdout, stderr: oclif.stderr})
    expect(fast.code).toBe(exit)
  })
})
