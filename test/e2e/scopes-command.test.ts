import {describe, expect, it} from 'vitest'

import {LOGIN_SCOPES, SCOPES, SIGNUP_SCOPES} from '../../src/scopes/constant.js'
import {runCli} from '../support/cli.js'

describe('onramp scopes (built binary)', () => {
  it('prints the constant as JSON with both derived lists', async () => {
    const result = await runCli(['scopes', '--json'])
    expect(result.code).toBe(0)
    const json = JSON.parse(result.stdout)
    expect(json.login).toEqual([...LOGIN_SCOPES])
    expect(json.signup).toEqual([...SIGNUP_SCOPES])
    expect(json.entries).toHaveLength(SCOPES.length)
    expect(Object.keys(json.entries[0]).sort()).toEqual(['advertised', 'required', 'scope', 'surfaces', 'why'])
    const gateway = json.entries.find((entry: {scope: string}) => entry.scope === 'llm_gateway:read')
    expect(gateway).toMatchObject({surfaces: ['login', 'signup'], required: ['login', 'signup'], advertised: false})
    const organization = json.entries.find((entry: {scope: string}) => entry.scope === 'organization:read')
    expect(organization).toMatchObject({surfaces: ['login'], required: [], advertised: true})
  })

  it('prints a readable table', async () => {
    const result = await runCli(['scopes'])
    expect(result.code).toBe(0)
    const lines = result.stdout.split('\n')
    expect(lines[0]).toMatch(/^SCOPE\s+LOGIN\s+SIGNUP\s+REQUIRED\s+ADVERTISED\s+WHY$/)
    const wizard = lines.find((line) => line.startsWith('wizard_session:write'))
    expect(wizard).toMatch(/^wizard_session:write\s+yes\s+-\s+-\s+no \(hidden\)\s+record setup progress/)
    const user = lines.find((line) => line.startsWith('user:read'))
    expect(user).toMatch(/^user:read\s+yes\s+yes\s+login, signup\s+yes\s+/)
    expect(result.stdout).toContain('12 login scopes, 8 signup scopes')
  })

  it('lists the scopes command in --help', async () => {
    const result = await runCli(['--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/\bscopes\b/)
  })

  it('answers an unknown flag with a usage error (exit 2)', async () => {
    const result = await runCli(['scopes', '--bogus'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/bogus/)
  })

  it('reports a bad flag value as a JSON usage error under --json', async () => {
    const result = await runCli(['status', '--region', 'ap', '--json'])
    expect(result.code).toBe(2)
    expect(JSON.parse(result.stdout)).toEqual({error: {code: 'usage', message: expect.stringMatching(/ap/), exit: 2, next_command: 'onramp status --help'}})
  })
})
