/**
 * Issue 19 item 6: three diagnoses doctor got wrong, each provoked with a loopback server (or a real
 * folder): a cross-origin @me called "accepts ONRAMP_TOKEN", an unwritable 0500 folder shown as
 * "0700 ok", and a refresh that was sent reported as "could not be tried".
 */
import {chmodSync, mkdirSync} from 'node:fs'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {createDeps} from '../../src/deps.js'
import {runDoctor} from '../../src/doctor/run.js'
import {findCheck} from '../support/doctor.js'
import {capture} from '../support/harness.js'
import {hostileIssuerPerTest, json} from '../support/hostile-issuer.js'

const scratch = hostileIssuerPerTest()
const {issuer, home} = scratch

function depsFor(env: Record<string, string>) {
  return createDeps({env: {...env, ONRAMP_STORAGE: 'file'}, stderr: capture(), version: 'test', fetch: (input, init) => fetch(input, init)})
}

describe('doctor tells what really happened', () => {
  it('ONRAMP_TOKEN: an @me redirected to another origin is not "accepted", and the token is not sent there', async () => {
    const elsewhere = await issuer({'/api/users/@me/': (_request, response) => json(response, 200, {email: 'someone@else.example'})})
    const server = await issuer({
      '/api/users/@me/': (_request, response) => {
        response.writeHead(302, {location: `${elsewhere.url}/api/users/@me/`})
        response.end()
      },
    })
    const {env} = home()
    const report = await runDoctor(await depsFor({...env, ONRAMP_TOKEN: 'phx_env_token_value_1234'}), {selection: {host: server.url}})
    const check = findCheck(report, 'sessions.env')
    expect(check.status).toBe('warn')
    expect(check.summary).not.toMatch(/accepts ONRAMP_TOKEN/)
    expect(check.summary).toMatch(/redirected to another origin/)
    expect(elsewhere.seen).toEqual([])
  })

  it('a 0500 config folder: storage.permissions fails (it cannot be written), never "0700 ok"', async () => {
    const {env} = home()
    const config = path.join(env.XDG_CONFIG_HOME!, 'onramp')
    mkdirSync(config, {recursive: true})
    chmodSync(config, 0o500)
    scratch.defer(() => chmodSync(config, 0o700))
    const server = await issuer({})
    const report = await runDoctor(await depsFor(env), {selection: {host: server.url}})
    const failed = report.checks.find((check) => check.id === 'storage.permissions.config_dir')
    expect(failed, JSON.stringify(report.checks.filter((check) => check.id.startsWith('storage')))).toMatchObject({status: 'fail', fix: expect.stringContaining('chmod 700')})
    expect(failed!.summary).toMatch(/mode 0500: you cannot create or replace files in it/)
    expect(JSON.stringify(report)).not.toMatch(/config folder 0700/)
  })

  it('--refresh whose request was sent but whose answer never came: "was sent", not "could not be tried"', async () => {
    const server = await issuer({
      '/token': (_request, response) => {
        response.socket?.destroy() // the server took the refresh and the connection died
      },
    })
    const {env} = scratch.loggedInTo(server.url)
    const report = await runDoctor(await depsFor(env), {selection: {host: server.url}, refresh: true})
    const check = report.checks.find((candidate) => candidate.id.startsWith('sessions.'))
    expect(check, JSON.stringify(report.checks.map((candidate) => candidate.id))).toBeDefined()
    expect(check!.summary).not.toMatch(/could not be tried/)
    expect(check!.summary).toMatch(/the refresh was sent, but no usable answer came back/)
    expect(check!.fix).toMatch(/onramp token/)
    expect(server.seen.filter((request) => request.path === '/token').length).toBeGreaterThan(0)
  })
})
