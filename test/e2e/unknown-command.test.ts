import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'

// What happens when the first word is not a command: a usage error (exit 2) with the closest command as
// the next step, one JSON document under --json, and the guessed command never run.
const TOKEN = 'phx_never_printed_unless_token_ran'

function parseOneDocument(stdout: string): unknown {
  // One document and nothing else: JSON.parse fails on anything after it.
  return JSON.parse(stdout)
}

describe('an unknown or misspelt command (built binary)', () => {
  it('suggests the closest command on stderr and runs nothing', async () => {
    const result = await runCli(['tokn'], {env: {ONRAMP_TOKEN: TOKEN}, input: 'y\n'})
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('`tokn`')
    expect(result.stderr).toContain('Next: run `onramp token`')
  })

  it('answers --json with one command_not_found error document naming the suggestion', async () => {
    const result = await runCli(['stauts', '--json'])
    expect(result.code).toBe(2)
    expect(parseOneDocument(result.stdout)).toEqual({
      error: {code: 'command_not_found', message: expect.stringContaining('`stauts`'), exit: 2, next_command: 'onramp status'},
    })
    expect(result.stderr).toBe('')
  })

  it('points at `onramp help` when nothing is close, with --json before the word too', async () => {
    for (const args of [['--json', 'nosuch'], ['nosuch', '--json']]) {
      const result = await runCli(args)
      expect(result.code, args.join(' ')).toBe(2)
      expect(parseOneDocument(result.stdout)).toEqual({
        error: {code: 'command_not_found', message: expect.stringContaining('`nosuch`'), exit: 2, next_command: 'onramp help'},
      })
    }
  })

  it('says flags go after the command when they come first, without running it', async () => {
    const result = await runCli(['--json', 'token'], {env: {ONRAMP_TOKEN: TOKEN}})
    expect(result.code).toBe(2)
    expect(result.stdout).not.toContain(TOKEN)
    expect(parseOneDocument(result.stdout)).toEqual({
      error: {code: 'usage', message: expect.stringContaining('after the command'), exit: 2, next_command: 'onramp token --json'},
    })
  })

  it('skips the values of flags when looking for the misspelt word', async () => {
    const result = await runCli(['--region', 'eu', 'statsu'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('`statsu`')
    expect(result.stderr).toContain('Next: run `onramp status`')
  })
})

describe('what other CLIs call the version command', () => {
  it.each([['version'], ['-v']])('%s points at onramp --version (exit 2)', async (word) => {
    const result = await runCli([word, '--json'])
    expect(result.code).toBe(2)
    expect(JSON.parse(result.stdout)).toMatchObject({error: {code: 'command_not_found', next_command: 'onramp --version'}})
  })
})
