import {describe, expect, it} from 'vitest'

import {BASE_FLAG_SPECS, JSON_FLAG_SPEC, SERVER_FLAG_SPECS} from '../../src/cli/flag-spec.js'
import {hotCommand, HOT_COMMANDS} from '../../src/fast/commands.js'
import {parseFlags} from '../../src/fast/parse.js'

const specs = {...SERVER_FLAG_SPECS, ...BASE_FLAG_SPECS, ...JSON_FLAG_SPEC}
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseFlags(argv, specs, env)

describe('the fast path parser', () => {
  it('reads booleans, `--name value` and `--name=value`, and defaults the rest', () => {
    expect(parse(['--json', '--region', 'eu', '--host=https://h.example', '--verbose'])).toEqual({
      json: true, verbose: true, region: 'eu', host: 'https://h.example', 'client-id': undefined,
    })
    expect(parse([])).toEqual({json: false, verbose: false, region: undefined, host: undefined, 'client-id': undefined})
  })

  // The server flags have no `env`: their variables are a level of the selection (src/select/choose.ts), read there.
  const withEnv = {
    region: {...SERVER_FLAG_SPECS.region, env: 'ONRAMP_REGION'},
    host: {...SERVER_FLAG_SPECS.host, env: 'ONRAMP_HOST'},
    'client-id': {...SERVER_FLAG_SPECS['client-id'], env: 'ONRAMP_CLIENT_ID'},
  }

  it('takes a string flag not given from its non-empty env variable, for a flag that declares one', () => {
    expect(parseFlags([], withEnv, {ONRAMP_REGION: 'eu', ONRAMP_HOST: '', ONRAMP_CLIENT_ID: 'abc'})).toMatchObject({region: 'eu', host: undefined, 'client-id': 'abc'})
    expect(parseFlags(['--region', 'us'], withEnv, {ONRAMP_REGION: 'eu'})).toMatchObject({region: 'us'})
  })

  it('leaves the server variables to the selection: the server flags hold only what was typed', () => {
    expect(parse([], {ONRAMP_REGION: 'eu', ONRAMP_HOST: 'https://h.example', ONRAMP_CLIENT_ID: 'abc'})).toMatchObject({region: undefined, host: undefined, 'client-id': undefined})
  })

  it.each([
    ['an unknown flag', ['--bogus']],
    ['a short flag', ['-h']],
    ['--help', ['--help']],
    ['a positional argument', ['extra']],
    ['the end of flags', ['--']],
    ['a negated boolean', ['--no-json']],
    ['a boolean with a value', ['--json=true']],
    ['a repeated flag', ['--host', 'a', '--host', 'b']],
    ['a missing value', ['--host']],
    ['an empty value', ['--host=']],
    ['a value that looks like a flag', ['--host', '--json']],
    ['a value outside the options', ['--region', 'ap']],
    ['an inherited property name', ['--constructor']],
  ])('declines %s', (_what, argv) => {
    expect(parse(argv)).toBeUndefined()
  })

  it.each(Object.entries(HOT_COMMANDS))('declines, for %s, every name an object inherits (oclif then refuses it)', (_id, command) => {
    const hotSpecs = {...command.flags, ...BASE_FLAG_SPECS, ...JSON_FLAG_SPEC}
    for (const name of Object.getOwnPropertyNames(Object.prototype)) {
      for (const word of [`--${name}`, `--no-${name}`, `--${name}=x`]) expect(parseFlags([word], hotSpecs, {}), word).toBeUndefined()
    }
  })

  it('knows no command by an inherited name', () => {
    for (const name of Object.getOwnPropertyNames(Object.prototype)) expect(hotCommand(name), name).toBeUndefined()
  })

  it('declines an env value outside the options, even when the flag is not used', () => {
    expect(parseFlags([], withEnv, {ONRAMP_REGION: 'ap'})).toBeUndefined()
  })
})
