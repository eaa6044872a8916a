import {describe, expect, it} from 'vitest'

import {isolatedHome, runCli} from '../support/cli.js'

// ONRAMP_REGION sets --region; a bad value must be reported as the variable, not as a flag nobody typed.
describe('a bad ONRAMP_REGION (built binary)', () => {
  it('names the variable and its value (exit 2), in JSON and on stderr', async () => {
    const json = await runCli(['status', '--json'], {env: {ONRAMP_REGION: 'xx'}})
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout)).toEqual({error: {code: 'usage', message: expect.stringContaining('ONRAMP_REGION=xx'), exit: 2}})
    const human = await runCli(['token'], {env: {ONRAMP_REGION: 'xx'}})
    expect(human.code).toBe(2)
    expect(human.stderr).toMatch(/^Error: ONRAMP_REGION=xx .*us, eu/m)
    expect(human.stderr).not.toContain('--region=xx')
  })

  it('is ignored when --region is typed, which wins over the variable', async () => {
    const home = isolatedHome()
    try {
      const result = await runCli(['status', '--region', 'eu', '--json'], {env: {...home.env, ONRAMP_REGION: 'xx'}})
      expect(result.stdout).not.toContain('ONRAMP_REGION')
      expect(result.code).toBe(3) // not logged in on eu: the run got past flag parsing
    } finally {
      home.cleanup()
    }
  })

  it('still names the flag when the bad value was typed', async () => {
    const result = await runCli(['status', '--region', 'ap', '--json'])
    expect(result.code).toBe(2)
    const {error} = JSON.parse(result.stdout) as {error: {message: string}}
    expect(error.message).toContain('--region=ap')
    expect(error.message).not.toContain('ONRAMP_REGION')
  })
})
