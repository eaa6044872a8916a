import {accessSync, constants, readFileSync} from 'node:fs'
import path from 'node:path'

import {ok, warn, type Check, type DoctorContext} from '../types.js'
import {withoutLoopbackFix} from './device-grant.js'

/**
 * login.browser: whether the authorization URL can open anywhere. `open` resolves even when no
 * browser exists, so the reasons it cannot are checked up front: $BROWSER naming a missing command,
 * an SSH session, WSL, Linux without a display.
 */
export const checkBrowser: Check = async (ctx) => {
  const id = 'login.browser'
  const env = ctx.deps.env
  const noBrowserFix = withoutLoopbackFix(ctx)
  if (env.BROWSER?.trim()) {
    const command = env.BROWSER.trim().split(/\s+/)[0]!
    if (commandExists(command, env)) return [ok('login', id, `$BROWSER: ${command}`)]
    return [warn('login', id, `$BROWSER names ${command}, which is not an executable on PATH`, `fix or unset BROWSER (unset BROWSER), or ${noBrowserFix}`)]
  }
  if (env.SSH_CONNECTION || env.SSH_TTY) {
    return [warn('login', id, 'an SSH session: a browser would open on the remote machine, if at all', noBrowserFix)]
  }
  if (ctx.platform === 'linux') {
    if (isWsl(ctx)) return [warn('login', id, 'WSL: opening a Windows browser from Linux often fails silently', `${noBrowserFix} (or install wslu and export BROWSER=wslview)`)]
    if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return [warn('login', id, 'Linux without DISPLAY or WAYLAND_DISPLAY: no browser can open', noBrowserFix)]
    return [ok('login', id, `a desktop session (${env.WAYLAND_DISPLAY ? `WAYLAND_DISPLAY=${env.WAYLAND_DISPLAY}` : `DISPLAY=${env.DISPLAY}`})`)]
  }
  return [ok('login', id, `the system browser (${ctx.platform})`)]
}

function isWsl(ctx: DoctorContext): boolean {
  if (ctx.deps.env.WSL_DISTRO_NAME) return true
  return /microsoft/i.test(ctx.procVersion() ?? '')
}

export function readProcVersion(): string | undefined {
  try {
    return readFileSync('/proc/version', 'utf8')
  } catch {
    return undefined
  }
}

function commandExists(command: string, env: NodeJS.ProcessEnv): boolean {
  const executable = (file: string) => {
    try {
      accessSync(file, constants.X_OK)
      return true
    } catch {
      return false
    }
  }
  if (command.includes('/') || command.includes('\\')) return executable(command)
  const extensions = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : ['']
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue
    for (const extension of extensions) if (executable(path.join(dir, command + extension))) return true
  }
  return false
}
