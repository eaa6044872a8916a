/**
 * Issue 19 item 6: a stored file far larger than onramp ever writes (a 400 MB sessions.json) is refused
 * before it is read, naming the path and the fix: credentials.json, sessions.json, clients.json and the
 * discovery cache. The files are sparse: big on paper, nothing written to disk.
 */
import {createHash} from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {MAX_STORED_FILE_BYTES, StoredFileTooLargeError} from '../../src/fs-trust.js'
import {discover} from '../../src/oauth/discovery.js'
import {rememberedClient} from '../../src/oauth/registration.js'
import {createFileStore} from '../../src/session/file-store.js'
import {createMetadataFile} from '../../src/session/metadata.js'

let dir: string
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-size-'))
  fs.chmodSync(dir, 0o700)
})
afterEach(() => fs.rmSync(dir, {recursive: true, force: true}))

/** A sparse file of `bytes` starting with valid-looking JSON, 0600. */
function bigFile(file: string, bytes = 400 * 1024 * 1024): string {
  fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700})
  fs.writeFileSync(file, '{"version":1,"sessions":{}}', {mode: 0o600})
  fs.truncateSync(file, bytes)
  return file
}

async function refusal(run: () => unknown): Promise<StoredFileTooLargeError> {
  const error = await Promise.resolve().then(run).catch((caught: unknown) => caught)
  expect(error).toBeInstanceOf(StoredFileTooLargeError)
  return error as StoredFileTooLargeError
}

describe('stored files over the size cap are refused, naming the path', () => {
  it('credentials.json (file store)', async () => {
    const file = bigFile(path.join(dir, 'credentials.json'))
    const error = await refusal(() => createFileStore({path: file}).list())
    expect(error.message).toContain(file)
    expect(error.message).toMatch(/400 MiB, more than the 4 MiB.*mv /)
    expect(error.exit).toBe(1)
  })

  it('sessions.json (keychain metadata)', async () => {
    const file = bigFile(path.join(dir, 'sessions.json'))
    const error = await refusal(() => createMetadataFile({path: file}).read())
    expect(error.message).toContain(file)
  })

  it('clients.json', async () => {
    const file = bigFile(path.join(dir, 'clients.json'))
    const error = await refusal(() => rememberedClient({configDir: dir, issuer: 'https://issuer.test'}))
    expect(error.message).toContain(file)
    expect(error.message).toMatch(/rm /)
  })

  it('a discovery cache entry', async () => {
    const issuer = 'https://issuer.test'
    const file = bigFile(path.join(dir, 'discovery', `${createHash('sha256').update(issuer).digest('hex').slice(0, 32)}.json`), MAX_STORED_FILE_BYTES.small + 1)
    const error = await refusal(() => discover({http: () => Promise.reject(new Error('no network')), logger: {event: () => {}}, now: () => new Date(), paths: {cache: dir}}, issuer))
    expect(error.message).toContain(file)
  })

  it('a file just under the cap is still read', async () => {
    const file = path.join(dir, 'credentials.json')
    fs.writeFileSync(file, JSON.stringify({version: 1, sessions: {}}) + ' '.repeat(1024 * 1024), {mode: 0o600})
    await expect(createFileStore({path: file}).list()).resolves.toEqual([])
  })
})
