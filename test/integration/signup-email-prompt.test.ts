/**
 * The email for `onramp signup`: asked for only when a person is at the terminal (validated as typed),
 * refused (exit 2) when missing in a non-interactive run or when it is not an email.
 */
import {describe, expect, it} from 'vitest'

import {resolveEmail} from '../../src/commands/signup.js'

function fakeUi(interactive: boolean, typed: string[]) {
  const asked: string[] = []
  const rejected: string[] = []
  return {
    asked,
    rejected,
    ui: {
      interactive,
      prompt: async (message: string, options: {validate?: (value: string) => string | true} = {}) => {
        asked.push(message)
        for (const value of typed) {
          const verdict = options.validate ? options.validate(value) : true
          if (verdict === true) return value
          rejected.push(value)
        }
        throw new Error('no acceptable answer typed')
      },
    },
  }
}

describe('the signup email', () => {
  it('interactive without --email: asks, refusing what is not an email until one is typed', async () => {
    const {ui, asked, rejected} = fakeUi(true, ['nope', ' me@example.com '])
    expect(await resolveEmail(ui, undefined)).toBe('me@example.com')
    expect(asked).toHaveLength(1)
    expect(rejected).toEqual(['nope'])
  })

  it('non-interactive without --email: exit 2, never asks', async () => {
    const {ui, asked} = fakeUi(false, ['me@example.com'])
    await expect(resolveEmail(ui, undefined)).rejects.toMatchObject({exit: 2, code: 'email_required'})
    expect(asked).toEqual([])
  })

  it('--email given: not asked; an invalid one is exit 2 even on a terminal', async () => {
    const {ui, asked} = fakeUi(true, [])
    expect(await resolveEmail(ui, 'given@example.com')).toBe('given@example.com')
    await expect(resolveEmail(ui, 'given@example')).rejects.toMatchObject({exit: 2, code: 'invalid_email'})
    expect(asked).toEqual([])
  })
})
