import {describe, expect, it} from 'vitest'

import {satisfies} from '../../../../src/doctor/checks/runtime.js'

describe('Node version against package.json engines', () => {
  it.each([
    ['20.18.1', '>=20.18.1', true],
    ['20.18.0', '>=20.18.1', false],
    ['22.0.0', '>=20.18.1', true],
    ['18.19.0', '^18.19.0 || >=20.6.0', true],
    ['19.0.0', '^18.19.0 || >=20.6.0', false],
    ['20.5.0', '>=20 <20.6', true],
    ['20.6.0', '>=20 <20.6', false],
    ['20.1.0', '~20.1.0', true],
    ['20.2.0', '~20.1.0', false],
    ['20.9.0', '20', true],
    ['v22.3.0', '>=22', true],
  ])('%s against %s: %s', (version, range, expected) => {
    expect(satisfies(version, range)).toBe(expected)
  })

  it('an unreadable range is undefined, not a verdict', () => {
    expect(satisfies('20.0.0', 'latest')).toBeUndefined()
    expect(satisfies('20.0.0', '')).toBeUndefined()
  })
})
