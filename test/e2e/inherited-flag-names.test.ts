import {readFileSync} from 'node:fs'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {ROOT, runCli} from '../support/cli.js'

/**
 * oclif finds a flag by `flags[name]`, so a name every object inherits (`--toString`, `--valueOf`) passed
 * as a flag and `onramp token --toString` printed the token (issue 19). Every command, on whichever
 * path answers it, now refuses such a flag like any unknown one: exit 2, nothing run, nothing on stdout.
 */
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
const commands = Object.keys(manifest.commands).map((id) => id.split(':'))
const TOKEN = 'pha_never_printed_when_the_flag_is_refused'
const env = {ONRAMP_TOKEN: TOKEN, ONRAMP_HOST: 'http://127.0.0.1:9'}

describe('a flag named after an inherited property is an unknown flag', () => {
  it.each(commands.map((words) => [words.join(' '), words] as const))('onramp %s --toString', async (_id, words) => {
    const result = await runCli([...words, '--toString'], {env, input: ''})
    expect({code: result.code, stdout: result.stdout, stderr: result.stderr}).toEqual({code: 2, stdout: '', stderr: 'Error: Nonexistent flag: --toString\nSee more help with --help\n'})
  })

  it.each(Object.getOwnPropertyNames(Object.prototype))('onramp token --%s', async (name) => {
    const result = await runCli(['token', `--${name}`], {env})
    expect({code: result.code, stdout: result.stdout}).toEqual({code: 2, stdout: ''})
    expect(result.stderr).toContain(`Nonexistent flag: --${name}`)
  })
})
