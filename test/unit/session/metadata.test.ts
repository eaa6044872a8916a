import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect} from 'vitest'

import {createMetadataFile} from '../../../src/session/metadata.js'
import {itUnless, POSIX_ONLY} from '../../support/skip.js'

let dir: string
beforeEach(() => {
  dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-metadata-')), 'onramp')
})
afterEach(() => fs.rmSync(path.dirname(dir), {recursive: true, force: true}))

describe('the session metadata file (sessions.json) is trusted only when it is ours', () => {
  itUnless(POSIX_ONLY)('refuses a symlinked sessions.json, naming it, instead of following it', async () => {
    fs.mkdirSync(dir, {mode: 0o700})
    const elsewhere = path.join(path.dirname(dir), 'planted.json')
    fs.writeFileSync(elsewhere, JSON.stringify({version: 1, sessions: {}}), {mode: 0o600})
    const file = path.join(dir, 'sessions.json')
    fs.symlinkSync(elsewhere, file)
    await expect(createMetadataFile({path: file}).read()).rejects.toMatchObject({code: 'untrusted_path', message: expect.stringContaining(file)})
  })

  itUnless(POSIX_ONLY)('refuses a folder others can write', async () => {
    fs.mkdirSync(dir, {mode: 0o700})
    fs.chmodSync(dir, 0o777)
    await expect(createMetadataFile({path: path.join(dir, 'sessions.json')}).read()).rejects.toMatchObject({code: 'untrusted_path'})
  })
})
