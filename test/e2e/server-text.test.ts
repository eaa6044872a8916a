/**
 * Issue 19 item 6 / issue 17's two sanitisers: every string a server sends reaches the terminal as one
 * field on one line, without escapes. A hostile loopback issuer grants scopes carrying escapes and a
 * newline followed by a forged line; `token` stores them, `status` shows them.
 */
import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'
import {hostileIssuerPerTest, json} from '../support/hostile-issuer.js'

const ESC = '\u001b'
const scratch = hostileIssuerPerTest()

describe('scopes granted by a hostile server', () => {
  it('are shown by status without escapes, and cannot start a line of their own', async () => {
    const forged = `user:read\n  Token:    FORGED valid forever${ESC}[31m\r\n${ESC}]0;owned\u0007project:read`
    const server = await scratch.issuer({
      '/token': (_request, response) =>
        json(response, 200, {access_token: 'fresh-access-token-0002', token_type: 'Bearer', expires_in: 3600, refresh_token: 'fresh-refresh-token-0002', scope: forged}),
    })
    const {env} = scratch.loggedInTo(server.url, {user: {email: `ada@example.com\n  Stored:   FORGED${ESC}[2K`}})
    const token = await runCli(['token'], {env})
    expect(token.code, token.stderr).toBe(0)

    const status = await runCli(['status'], {env: {...env, ONRAMP_NO_FAST_PATH: '1'}})
    const fast = await runCli(['status'], {env})
    for (const result of [status, fast]) {
      expect(result.code, result.stderr).toBe(0)
      const text = result.stdout + result.stderr
      expect(text).not.toContain(ESC)
      expect(text).not.toContain('\u0007')
      // The forged text is there, but inside our line, never at the start of one.
      expect(text).toContain('FORGED')
      for (const line of text.split('\n')) expect(line.trimStart().startsWith('Token:    FORGED') || line.trimStart().startsWith('Stored:   FORGED'), line).toBe(false)
      expect(text).toMatch(/Scopes: +user:read Token: FORGED valid forever/)
    }
  })
})
