import {chmodSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {asOnrampError, ExitCode} from '../../src/errors.js'
import {ROOT} from '../support/cli.js'
import {itUnless, UNPRIVILEGED_CHILD_UNAVAILABLE} from '../support/skip.js'
import {runUnprivileged} from '../support/unprivileged.js'

/** The shape Node gives file-system errors. */
function errno(code: string, syscall: string, target: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed, ${syscall} '${target}'`), {code, syscall, path: target, errno: -1})
}

describe('file-system errors say where and what to do', () => {
  it.each([
    ['EACCES', 'permission_denied', /permission denied.*chmod 700.*XDG_CONFIG_HOME/],
    ['EPERM', 'permission_denied', /permission denied/],
    ['EROFS', 'read_only_file_system', /read-only file system/],
    ['ENOSPC', 'disk_full', /full/],
    ['ENOTDIR', 'path_blocked', /a file stands where onramp needs a folder/],
  ])('%s becomes %s naming the path', (code, expected, pattern) => {
    const error = asOnrampError(errno(code, 'mkdir', '/home/ada/.config/onramp'))
    expect(error).toMatchObject({code: expected, exit: ExitCode.unexpected})
    expect(error.message).toContain('mkdir /home/ada/.config/onramp')
    expect(error.message).toMatch(pattern)
    expect(error.message).not.toMatch(/^Unexpected error/)
  })

  it('leaves other errors as they were', () => {
    expect(asOnrampError(new Error('boom')).message).toBe('Unexpected error: boom')
  })

  itUnless(UNPRIVILEGED_CHILD_UNAVAILABLE)('an unwritable config folder, for real: saving a session names the folder and the fix', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'onramp-readonly-'))
    chmodSync(dir, 0o755) // root-owned (or ours, made read-only below): a normal user cannot write in it
    const isRoot = process.getuid?.() === 0
    if (!isRoot) chmodSync(dir, 0o555)
    const file = path.join(dir, 'onramp', 'credentials.json')
    const script = `
      import {createFileStore} from ${JSON.stringify(path.join(ROOT, 'src/session/file-store.ts'))}
      import {asOnrampError} from ${JSON.stringify(path.join(ROOT, 'src/errors.ts'))}
      const session = {issuer: 'https://h.test', client_id: 'c', region: null, access_token: 'a', refresh_token: null, expires_at: null, scope: [], user: null, obtained_at: '2026-01-01T00:00:00Z'}
      createFileStore({path: ${JSON.stringify(file)}}).save(session)
        .then(() => console.log(JSON.stringify({saved: true})))
        .catch((error) => console.log(JSON.stringify(asOnrampError(error).toJSON())))
    `
    try {
      const {answer, stderr} = runUnprivileged(script)
      expect(answer, stderr).toMatchObject({code: 'permission_denied', exit: 1})
      expect(answer.message).toContain(path.join(dir, 'onramp'))
    } finally {
      chmodSync(dir, 0o755)
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
