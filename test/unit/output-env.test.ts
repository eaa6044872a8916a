import {mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {appendEnvFile} from '../../src/output-env.js'

let dir: string | undefined
afterEach(() => dir && rmSync(dir, {recursive: true, force: true}))

describe('appendEnvFile (--output-env)', () => {
  it('appends NAME=value lines to a new 0600 file, keeping what was there', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'onramp-env-'))
    const file = path.join(dir, 'github_env')
    await appendEnvFile(file, {POSTHOG_PROJECT_API_KEY: 'phc_abc', POSTHOG_PROJECT_ID: '42'})
    await appendEnvFile(file, {POSTHOG_HOST: 'https://us.posthog.com'})
    expect(readFileSync(file, 'utf8')).toBe('POSTHOG_PROJECT_API_KEY=phc_abc\nPOSTHOG_PROJECT_ID=42\nPOSTHOG_HOST=https://us.posthog.com\n')
    expect(statSync(file).mode & 0o777).toBe(0o600)
  })

  it('writes a multiline value in the heredoc form GitHub Actions reads', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'onramp-env-'))
    const file = path.join(dir, 'env')
    await appendEnvFile(file, {NOTE: 'a\nb'})
    expect(readFileSync(file, 'utf8')).toMatch(/^NOTE<<(ONRAMP_EOF_[0-9a-f]{16})\na\nb\n\1\n$/)
  })

  it('refuses an unwritable path with exit 2', async () => {
    await expect(appendEnvFile('/nonexistent-dir/env', {A: 'b'})).rejects.toMatchObject({exit: 2, code: 'output_env_unwritable'})
  })
})
