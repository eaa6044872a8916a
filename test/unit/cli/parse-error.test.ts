import {describe, expect, it} from 'vitest'

import {parseError} from '../../../src/cli/base-command.js'

describe("oclif's parse errors in onramp's shape", () => {
  it('one sentence, exit 2, and the command help as the next step', () => {
    const missing = parseError('The following error occurred:\n  Missing required flag id\nSee more help with --help', 'onramp projects create')
    expect(missing).toMatchObject({exit: 2, code: 'usage', message: 'Missing required flag id. See onramp projects create --help.', nextCommand: 'onramp projects create --help'})
    const parsing = parseError('Parsing --min-valid \n\tExpected an integer but received: abc\nSee more help with --help', 'onramp token')
    expect(parsing.message).toBe('Parsing --min-valid: Expected an integer but received: abc. See onramp token --help.')
  })
})
