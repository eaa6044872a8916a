import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, expect, it} from 'vitest'

import {clientsFile, rememberClient, rememberedClient, type RegisteredClient} from '../../../src/oauth/registration.js'
import {describeUnless, POSIX_ONLY} from '../../support/skip.js'

let home: string
let config: string
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-clients-'))
  config = path.join(home, 'onramp')
})
afterEach(() => fs.rmSync(home, {recursive: true, force: true}))

describeUnless(POSIX_ONLY)('remembered clients (clients.json) are trusted only when ours', () => {
  it('are written 0600 in a 0700 folder and read back', async () => {
    const client = {issuer: 'https://h.example', client_id: 'c1', redirect_uri: 'http://127.0.0.1:8239/callback', registered_at: '2026-01-01T00:00:00Z'} satisfies RegisteredClient
    await rememberClient(config, client)
    expect(fs.statSync(config).mode & 0o777).toBe(0o700)
    expect(fs.statSync(clientsFile(config)).mode & 0o777).toBe(0o600)
    expect(rememberedClient({configDir: config, issuer: 'https://h.example'})).toMatchObject({client_id: 'c1'})
  })

  it('refuses a clients.json others can write, and a symlinked one', async () => {
    const client = {issuer: 'https://h.example', client_id: 'c1', redirect_uri: 'http://127.0.0.1:8239/callback', registered_at: '2026-01-01T00:00:00Z'} satisfies RegisteredClient
    await rememberClient(config, client)
    const file = clientsFile(config)
    fs.chmodSync(file, 0o666)
    expect(() => rememberedClient({configDir: config, issuer: 'https://h.example'})).toThrow(expect.objectContaining({code: 'untrusted_path'}) as Error)
    fs.renameSync(file, path.join(home, 'elsewhere.json'))
    fs.chmodSync(path.join(home, 'elsewhere.json'), 0o600)
    fs.symlinkSync(path.join(home, 'elsewhere.json'), file)
    expect(() => rememberedClient({configDir: config, issuer: 'https://h.example'})).toThrow(/symbolic link/)
  })
})
