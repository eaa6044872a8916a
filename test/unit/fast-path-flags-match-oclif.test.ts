import {readFileSync} from 'node:fs'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {BASE_FLAG_SPECS, type FlagSpecs} from '../../src/cli/flag-spec.js'
import Scopes from '../../src/commands/scopes.js'
import Status from '../../src/commands/status.js'
import Token from '../../src/commands/token.js'
import {HOT_COMMANDS} from '../../src/fast/commands.js'
import {ROOT} from '../support/cli.js'

/**
 * The fast path parses the hot commands' flags from the specs in src/cli/flag-spec.ts. Here the oclif
 * commands' real flag definitions are checked against them, so a flag changed on one side only fails
 * here instead of making the two paths disagree. A flag only oclif has (scopes --check) is fine as long
 * as it can only come from argv, where the fast path declines it: no env var, no default, not required.
 */
const OCLIF_COMMANDS = {token: Token, status: Status, scopes: Scopes}

interface OclifFlag {
  type: 'boolean' | 'option'
  description?: string
  helpGroup?: string
  env?: string
  options?: readonly string[]
  default?: unknown
  char?: string
  multiple?: boolean
  allowNo?: boolean
  required?: boolean
  exclusive?: unknown
  dependsOn?: unknown
  exactlyOne?: unknown
  relationships?: unknown
}

describe('the fast path knows the hot commands by the same flags as oclif', () => {
  it('covers exactly the hot commands', () => {
    expect(Object.keys(HOT_COMMANDS).sort()).toEqual(Object.keys(OCLIF_COMMANDS).sort())
  })

  it.each(Object.entries(OCLIF_COMMANDS))('%s', (id, command) => {
    expect(command.enableJsonFlag).toBe(true) // --json is parsed by the fast path as oclif's JSON flag
    const oclifFlags = {...command.baseFlags, ...command.flags} as unknown as Record<string, OclifFlag>
    const specs: FlagSpecs = {...HOT_COMMANDS[id]!.flags, ...BASE_FLAG_SPECS}
    expect(oclifFlags).not.toHaveProperty('json')

    for (const [name, spec] of Object.entries(specs)) {
      const flag = oclifFlags[name]
      expect(flag, `--${name} exists on oclif's ${id}`).toBeDefined()
      expect({name, type: flag!.type, description: flag!.description, helpGroup: flag!.helpGroup}).toEqual({
        name,
        type: spec.kind === 'boolean' ? 'boolean' : 'option',
        description: spec.description,
        helpGroup: spec.helpGroup,
      })
      expect({name, env: flag!.env, options: flag!.options}).toEqual({
        name,
        env: spec.kind === 'string' ? spec.env : undefined,
        options: spec.kind === 'string' ? spec.options : undefined,
      })
      expect({name, char: flag!.char, multiple: flag!.multiple ?? false, allowNo: flag!.allowNo ?? false, required: flag!.required ?? false}).toEqual({
        name,
        char: undefined,
        multiple: false,
        allowNo: false,
        required: false,
      })
      expect([flag!.exclusive, flag!.dependsOn, flag!.exactlyOne, flag!.relationships].filter(Boolean), `--${name} has no relationships`).toEqual([])
      expect(flag!.default, `--${name} default`).toEqual(spec.kind === 'boolean' ? false : undefined)
    }

    for (const [name, flag] of Object.entries(oclifFlags)) {
      if (Object.hasOwn(specs, name)) continue
      expect({name, env: flag.env, default: flag.default || undefined, required: flag.required ?? false}).toEqual({
        name,
        env: undefined,
        default: undefined,
        required: false,
      })
    }
  })
})

describe('the parity tests test the @oclif/core users install', () => {
  it('package.json pins @oclif/core exactly, at the version in package-lock.json', () => {
    const read = (file: string) => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as Record<string, Record<string, {version?: string} & Record<string, string>>>
    const wanted = read('package.json').dependencies!['@oclif/core']
    expect(wanted).toMatch(/^\d+\.\d+\.\d+$/)
    expect(read('package-lock.json').packages!['node_modules/@oclif/core']!.version).toBe(wanted)
  })
})
