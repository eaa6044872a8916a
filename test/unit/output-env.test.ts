import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {parse} from 'dotenv'
import {afterEach, describe, expect, it} from 'vitest'

import {appendEnvFile, projectEnv} from '../../src/output-env.js'

let dir: string | undefined
afterEach(() => dir && rmSync(dir, {recursive: true, force: true}))

function tempFile(name = 'env'): string {
  dir = mkdtempSync(path.join(tmpdir(), 'onramp-env-'))
  return path.join(dir, name)
}

describe('appendEnvFile (--output-env)', () => {
  it('appends NAME=value lines to a new 0600 file, keeping what was there, and returns the names written', async () => {
    const file = tempFile('github_env')
    expect(await appendEnvFile(file, {POSTHOG_PROJECT_API_KEY: 'phc_abc', POSTHOG_PROJECT_ID: '42'})).toEqual(['POSTHOG_PROJECT_API_KEY', 'POSTHOG_PROJECT_ID'])
    await appendEnvFile(file, {POSTHOG_HOST: 'https://us.posthog.com'})
    expect(readFileSync(file, 'utf8')).toBe('POSTHOG_PROJECT_API_KEY=phc_abc\nPOSTHOG_PROJECT_ID=42\nPOSTHOG_HOST=https://us.posthog.com\n')
    expect(statSync(file).mode & 0o777).toBe(0o600)
  })

  it.each([
    ['LF', 'phc_a\nNODE_OPTIONS=--require=./evil.js'],
    ['CR', 'phc_a\rNODE_OPTIONS=--require=./evil.js'],
    ['CRLF', 'phc_a\r\nNODE_OPTIONS=--require=./evil.js'],
    ['NUL', 'phc_a\0NODE_OPTIONS=x'],
  ])('never writes a value holding %s: exit 6, naming the variable, the file left as it was', async (_name, value) => {
    const file = tempFile()
    writeFileSync(file, 'EXISTING=1\n')
    const error = await appendEnvFile(file, projectEnv({id: '7', api_key: value, host: 'https://us.posthog.com'})).catch((caught: unknown) => caught)
    expect(error).toMatchObject({exit: 6, code: 'output_env_unsafe_value', names: ['POSTHOG_PROJECT_API_KEY']})
    expect((error as Error).message).toContain('POSTHOG_PROJECT_API_KEY')
    expect((error as Error).message).not.toContain('phc_a')
    expect(readFileSync(file, 'utf8')).toBe('EXISTING=1\n')
  })

  it('a dotenv reader reads back exactly the intended variables, a personal API key included', async () => {
    const file = tempFile()
    const values = projectEnv({id: '4242', api_key: 'phc_recorded', host: 'https://us.posthog.com', personal_api_key: 'phx_recorded'})
    await appendEnvFile(file, values)
    expect(parse(readFileSync(file))).toEqual(values)
  })

  it('a dotenv reader reads back values with spaces, quotes and = as they were', async () => {
    const file = tempFile()
    const values = {A: 'x=y', B: 'a b', C: "it's", D: 'q"q'}
    await appendEnvFile(file, values)
    expect(parse(readFileSync(file))).toEqual(values)
  })

  it('refuses an unwritable path with exit 2', async () => {
    await expect(appendEnvFile('/nonexistent-dir/env', {A: 'b'})).rejects.toMatchObject({exit: 2, code: 'output_env_unwritable'})
  })
})

describe('unsafeEnvValues', () => {
  it('names what a dotenv reader would trim, unquote or cut at a comment', async () => {
    const {unsafeEnvValues} = await import('../../src/output-env.js')
    expect(unsafeEnvValues({A: ' x', B: 'x ', C: '"x"', D: 'a#b', E: 'ok', 'BAD-NAME': 'x'})).toEqual(['A', 'B', 'C', 'D', 'BAD-NAME'])
  })
})
