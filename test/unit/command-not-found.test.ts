import type {Interfaces} from '@oclif/core'
import {describe, expect, it} from 'vitest'

import {closestCommand, wantsJson} from '../../src/hooks/command-not-found.js'

function configWith(ids: string[], hidden: string[] = []): Interfaces.Config {
  const commands = [...ids, ...hidden].map((id) => ({id, aliases: [], hidden: hidden.includes(id)}))
  return {commands} as unknown as Interfaces.Config
}

const config = configWith(['help', 'login', 'logout', 'scopes', 'status', 'token', 'projects:create'], ['secret'])

describe('closestCommand', () => {
  it('suggests a command within two edits', () => {
    expect(closestCommand({config, typed: 'tokn'})).toBe('token')
    expect(closestCommand({config, typed: 'stauts'})).toBe('status')
    expect(closestCommand({config, typed: 'logni'})).toBe('login')
    expect(closestCommand({config, typed: 'projects:creat'})).toBe('projects:create')
  })

  it('suggests the only command a prefix starts', () => {
    expect(closestCommand({config, typed: 'scop'})).toBe('scopes')
  })

  it('suggests nothing for a word far from every command', () => {
    expect(closestCommand({config, typed: 'nosuch'})).toBeUndefined()
    expect(closestCommand({config, typed: 'deploy'})).toBeUndefined()
  })

  it('never suggests a hidden command', () => {
    expect(closestCommand({config, typed: 'secrt'})).toBeUndefined()
  })
})

describe('wantsJson', () => {
  it('reads --json anywhere before --', () => {
    expect(wantsJson(['--json', 'nosuch'])).toBe(true)
    expect(wantsJson(['nosuch', '--json'])).toBe(true)
    expect(wantsJson(['nosuch', '--', '--json'])).toBe(false)
    expect(wantsJson(['nosuch'])).toBe(false)
  })
})
