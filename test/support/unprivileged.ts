import {spawnSync} from 'node:child_process'
import path from 'node:path'

import {ROOT} from './cli.js'

/**
 * Runs the TypeScript `script` (tsx --eval) in a child that is an unprivileged user: this user, or nobody
 * (uid 65534) when the tests run as root, who binds port 80 and writes anywhere. Returns the last line it
 * printed, parsed as JSON, and its stderr. Tests using it skip with itUnless(UNPRIVILEGED_CHILD_UNAVAILABLE).
 */
export function runUnprivileged(script: string): {answer: Record<string, unknown>; stderr: string} {
  const isRoot = process.getuid?.() === 0
  const child = spawnSync(path.join(ROOT, 'node_modules/.bin/tsx'), ['--eval', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {...process.env, TSX_DISABLE_CACHE: '1'},
    ...(isRoot ? {uid: 65534, gid: 65534} : {}),
  })
  return {answer: JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>, stderr: child.stderr}
}
