import {describe, expect, it} from 'vitest'

import {mapOAuthErrorInfo} from '../../src/oauth/errors.js'
import {terminalSafe} from '../../src/terminal-text.js'

const ESC = '\u001b'
const BEL = '\u0007'

describe('terminalSafe', () => {
  it.each([
    ['colours and cursor moves (CSI)', `${ESC}[31mred${ESC}[0m ${ESC}[2J${ESC}[1;1Hhome${ESC}[?25l`, 'red home'],
    ['a window title (OSC ended by BEL)', `${ESC}]0;pwned${BEL}title`, 'title'],
    ['a hyperlink (OSC 8 ended by ST)', `${ESC}]8;;https://evil.example${ESC}\\click${ESC}]8;;${ESC}\\`, 'click'],
    ['8-bit CSI and OSC (C1)', `\u009b31mred \u009d0;t\u0007ok`, 'red ok'],
    ['other escapes and lone ESC', `${ESC}cReset ${ESC}(Bcharset ${ESC}`, 'Reset charset '],
    ['carriage returns, backspaces, bells and DEL', `fake\rreal\b\b${BEL}\u007f!`, 'fakereal!'],
    ['bidi overrides and isolates (Trojan Source)', 'admin\u202e\u2066txt.exe\u2069\u200f', 'admintxt.exe'],
  ])('strips %s', (_name, input, expected) => {
    expect(terminalSafe(input)).toBe(expected)
  })

  it('keeps newlines, tabs and ordinary Unicode', () => {
    const text = 'Zoë Ångström <zoë@example.com>\n\tdéjà vu 中文 ✓ 🚀'
    expect(terminalSafe(text)).toBe(text)
  })
})

describe('server text in OAuth error messages', () => {
  it('strips escape sequences from error and error_description', () => {
    const error = mapOAuthErrorInfo(
      {error: `access_denied${ESC}[2K`, description: `denied ${ESC}]0;owned${BEL}${ESC}[1A${ESC}[2KLogged in as admin`},
      {step: 'authorize', issuer: 'https://issuer.test'},
    )
    expect([...error.message].filter((c) => c !== '\n' && (c < ' ' || (c >= '\u007f' && c <= '\u009f')))).toEqual([])
    expect(error.message).toContain('denied Logged in as admin')
  })
})
