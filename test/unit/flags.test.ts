import {afterEach, describe, expect, it} from 'vitest'

import {envOptionError, inheritedFlagError} from '../../src/cli/flags.js'

/** An option flag read from a variable (the server flags no longer are: the selection reads theirs). */
const serverFlags = {region: {env: 'ONRAMP_REGION', options: ['us', 'eu']}}

const saved = process.env.ONRAMP_REGION
afterEach(() => {
  if (saved === undefined) delete process.env.ONRAMP_REGION
  else process.env.ONRAMP_REGION = saved
})

describe('envOptionError', () => {
  it('names the variable when its value is not one of the options', () => {
    process.env.ONRAMP_REGION = 'xx'
    const error = envOptionError({flags: serverFlags, argv: []})
    expect(error).toMatchObject({code: 'usage', exit: 2})
    expect(error?.message).toContain('ONRAMP_REGION=xx')
    expect(error?.message).toContain('us, eu')
  })

  it('says nothing when the value is valid or --region is typed', () => {
    process.env.ONRAMP_REGION = 'eu'
    expect(envOptionError({flags: serverFlags, argv: []})).toBeUndefined()
    process.env.ONRAMP_REGION = 'xx'
    expect(envOptionError({flags: serverFlags, argv: ['--region', 'us']})).toBeUndefined()
    expect(envOptionError({flags: serverFlags, argv: ['--region=us']})).toBeUndefined()
  })

  it('checks the variable when --region only appears after --', () => {
    process.env.ONRAMP_REGION = 'xx'
    expect(envOptionError({flags: serverFlags, argv: ['--', '--region=us']})).toBeDefined()
  })
})

describe('inheritedFlagError (oclif would take `--toString` for a flag)', () => {
  const names = ['region', 'host', 'client-id', 'verbose', 'json']
  const inherited = Object.getOwnPropertyNames(Object.prototype)

  it.each(inherited)('refuses --%s, --no-%s and --%s=x as nonexistent flags (exit 2)', (name) => {
    for (const word of [`--${name}`, `--no-${name}`, `--${name}=x`]) {
      const error = inheritedFlagError(['--json', word], names)
      expect(error, word).toMatchObject({code: 'usage', exit: 2, message: `Nonexistent flag: ${word}\nSee more help with --help`})
    }
  })

  it('leaves real flags, values, other unknown flags (oclif names them) and words after -- alone', () => {
    expect(inheritedFlagError(['--region', 'us', '--host=https://toString.example', '--json', '--verbose', 'toString'], names)).toBeUndefined()
    expect(inheritedFlagError(['--bogus'], names)).toBeUndefined()
    expect(inheritedFlagError(['--', '--toString'], names)).toBeUndefined()
  })

  it('lets a command that does define such a name keep it', () => {
    expect(inheritedFlagError(['--constructor'], ['constructor'])).toBeUndefined()
  })
})
