import {readFileSync} from 'node:fs'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {ROOT, runCli} from '../support/cli.js'

/** The commands the build registered, read from the manifest oclif wrote (so a new command is covered too). */
function builtCommandIds(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {hidden?: boolean}>}
  return Object.entries(manifest.commands)
    .filter(([, command]) => !command.hidden)
    .map(([id]) => id.replaceAll(':', ' '))
    .sort()
}

describe('onramp help [COMMAND] (built binary)', () => {
  it('lists every command', async () => {
    const result = await runCli(['help'])
    expect(result.code).toBe(0)
    // Commands of a topic (`projects create`) are listed under the topic, and in `onramp help <topic>`.
    for (const id of builtCommandIds()) expect(result.stdout).toMatch(new RegExp(`^  ${id.split(' ')[0]}\\b`, 'm'))
    const topic = await runCli(['help', 'projects'])
    for (const id of builtCommandIds().filter((command) => command.startsWith('projects '))) expect(topic.stdout).toMatch(new RegExp(`^  ${id}\\b`, 'm'))
  })

  it('shows the same help for a command as --help does', async () => {
    const [viaHelp, viaFlag] = await Promise.all([runCli(['help', 'token']), runCli(['token', '--help'])])
    expect(viaHelp.code).toBe(0)
    expect(viaHelp.stdout).toContain('USAGE')
    expect(viaHelp.stdout).toBe(viaFlag.stdout)
  })

  it('takes -h as --help, before or after the command', async () => {
    const [short, long, shortRoot, longRoot] = await Promise.all([
      runCli(['status', '-h']),
      runCli(['status', '--help']),
      runCli(['-h']),
      runCli(['--help']),
    ])
    expect(short.code).toBe(0)
    expect(short.stdout).toContain('USAGE')
    expect(short.stdout).toBe(long.stdout)
    expect(shortRoot.stdout).toBe(longRoot.stdout)
  })

  it('suggests `onramp help <closest>` for a misspelt command (exit 2)', async () => {
    const result = await runCli(['help', 'tokn'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('Next: run `onramp help token`')
    const json = await runCli(['help', 'tokn', '--json'])
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout)).toEqual({
      error: {code: 'command_not_found', message: expect.stringContaining('`tokn`'), exit: 2, next_command: 'onramp help token'},
    })
  })

  it('lists the commands with their summaries and flags under --json', async () => {
    const all = await runCli(['help', '--json'])
    expect(all.code).toBe(0)
    const listed = JSON.parse(all.stdout) as {commands: {id: string; summary: string | null; flags: string[]}[]}
    expect(listed.commands.map((command) => command.id)).toEqual(builtCommandIds())
    const one = await runCli(['help', 'token', '--json'])
    expect(JSON.parse(one.stdout)).toEqual({commands: [{id: 'token', summary: expect.any(String), flags: expect.arrayContaining(['--json', '--region'])}]})
  })
})
