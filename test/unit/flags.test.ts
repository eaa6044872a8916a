import {afterEach, describe, expect, it} from 'vitest'

import {envOptionError, serverFlags} from '../../src/cli/flags.js'

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
