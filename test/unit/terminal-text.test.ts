import {describe, expect, it} from 'vitest'

import {mapOAuthErrorInfo} from '../../src/oauth/errors.js'
import {renderLogin} from '../../src/render/login.js'
import {renderProjectRemove} from '../../src/render/projects.js'
import {serverText, terminalSafe} from '../../src/terminal-text.js'

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

describe('serverText: one server field on one line', () => {
  it.each([
    ['a colour left whole, not as "[31m"', `${ESC}[31mred${ESC}[0m`, 'red'],
    ['newlines and carriage returns become one space', 'a\r\nb\nc', 'a b c'],
    ['tabs, Unicode line separators and zero-width characters', 'a\tb\u2028c\u200bd', 'a b c d'],
    ['a forged line', `ok\n${ESC}[2KLogged in as admin`, 'ok Logged in as admin'],
    ['an OSC title and bidi override', `${ESC}]0;owned${BEL}id\u202e7`, 'id 7'],
    ['surrounding blanks', '  x  ', 'x'],
    ['a number', 42, '42'],
  ])('%s', (_name, input, expected) => {
    expect(serverText(input)).toBe(expected)
  })

  it('caps the length', () => {
    expect(serverText('x'.repeat(400))).toBe(`${'x'.repeat(300)}…`)
    expect(serverText('x'.repeat(50), 10)).toHaveLength(11)
  })
})

describe('renderers put server values through serverText', () => {
  it('projects remove: the id the server answered', () => {
    expect(renderProjectRemove({removed: true, id: `7${ESC}[31m\nRemoved project 8.`, session: null as never})).toBe('Removed project 7 Removed project 8..\n')
  })

  it('login: the granted scopes, the optional ones not granted, and the user', () => {
    const text = renderLogin({
      session: {issuer: 'https://issuer.test', scopes: ['user:read', `x${ESC}]0;t${BEL}\nStored: forged`], user: {email: `a@b${ESC}[2K\nNext: forged`, name: null, id: null}, storage: {kind: 'file', location: '/tmp/x'}},
      missing_optional_scopes: [`y\r\nNot granted: forged`],
    } as never)
    expect(text).not.toContain(ESC)
    for (const line of text.split('\n')) expect(line).not.toMatch(/^\s*(Stored|Next|Not granted): forged/)
  })
})
