import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, expect, it} from 'vitest'

import {assertPrivateDir, assertPrivateFile, ensurePrivateDir, UntrustedPathError} from '../../src/fs-trust.js'
import {describeUnless, itUnless, POSIX_ONLY, ROOT_ONLY} from '../support/skip.js'

const mode = (target: string) => fs.statSync(target).mode & 0o777

let home: string
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-trust-'))
})
afterEach(() => fs.rmSync(home, {recursive: true, force: true}))

function refusal(fn: () => unknown): UntrustedPathError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(UntrustedPathError)
    expect(error).toMatchObject({code: 'untrusted_path', exit: 1})
    return error as UntrustedPathError
  }
  throw new Error('expected a refusal')
}

describeUnless(POSIX_ONLY)('private folders', () => {
  it('creates missing folders 0700 and accepts them', () => {
    const dir = path.join(home, 'a', 'onramp')
    ensurePrivateDir(dir)
    expect(mode(dir)).toBe(0o700)
    expect(() => assertPrivateDir(dir)).not.toThrow()
  })

  it('refuses a folder others can write, naming it and the fix, without changing it', () => {
    const dir = path.join(home, 'onramp')
    fs.mkdirSync(dir)
    fs.chmodSync(dir, 0o777)
    const error = refusal(() => assertPrivateDir(dir))
    expect(error.message).toContain(dir)
    expect(error.message).toMatch(/0777/)
    expect(error.message).toMatch(/chmod 700|mv /)
    expect(mode(dir)).toBe(0o777)
  })

  it('refuses a symlinked folder, even one pointing at a private folder', () => {
    const real = path.join(home, 'real')
    fs.mkdirSync(real, {mode: 0o700})
    const link = path.join(home, 'onramp')
    fs.symlinkSync(real, link)
    expect(refusal(() => ensurePrivateDir(link)).message).toMatch(/symbolic link/)
  })

  itUnless(ROOT_ONLY)('refuses a folder owned by another user', () => {
    const dir = path.join(home, 'onramp')
    fs.mkdirSync(dir, {mode: 0o700})
    fs.chownSync(dir, 12345, 12345)
    expect(refusal(() => assertPrivateDir(dir)).message).toMatch(/user id 12345/)
  })

  it('tightens a folder of ours that others may only read', () => {
    const dir = path.join(home, 'onramp')
    fs.mkdirSync(dir)
    fs.chmodSync(dir, 0o755)
    assertPrivateDir(dir)
    expect(mode(dir)).toBe(0o700)
  })
})

describeUnless(POSIX_ONLY)('private files', () => {
  it('reports a missing file as absent', () => {
    expect(assertPrivateFile(path.join(home, 'none.json'))).toBe(false)
  })

  it('refuses a symlinked file', () => {
    const target = path.join(home, 'elsewhere.json')
    fs.writeFileSync(target, '{}', {mode: 0o600})
    const link = path.join(home, 'credentials.json')
    fs.symlinkSync(target, link)
    expect(refusal(() => assertPrivateFile(link, {onLoosened: () => {}})).message).toContain(link)
  })

  itUnless(ROOT_ONLY)('refuses a file owned by another user', () => {
    const file = path.join(home, 'credentials.json')
    fs.writeFileSync(file, '{}', {mode: 0o600})
    fs.chownSync(file, 12345, 12345)
    refusal(() => assertPrivateFile(file, {onLoosened: () => {}}))
  })

  it('fixes a loose secret file to 0600 and says so', () => {
    const file = path.join(home, 'credentials.json')
    fs.writeFileSync(file, '{}')
    fs.chmodSync(file, 0o644)
    const said: string[] = []
    expect(assertPrivateFile(file, {onLoosened: (message) => said.push(message)})).toBe(true)
    expect(mode(file)).toBe(0o600)
    expect(said).toEqual([expect.stringContaining(file)])
  })

  it('refuses a non-secret file others can write, and tightens one they can only read', () => {
    const file = path.join(home, 'cache.json')
    fs.writeFileSync(file, '{}')
    fs.chmodSync(file, 0o666)
    refusal(() => assertPrivateFile(file))
    expect(mode(file)).toBe(0o666)
    fs.chmodSync(file, 0o644)
    expect(assertPrivateFile(file)).toBe(true)
    expect(mode(file)).toBe(0o600)
  })
})
