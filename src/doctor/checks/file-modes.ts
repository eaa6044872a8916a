import fs from 'node:fs/promises'
import path from 'node:path'

import {fail, ok, shellQuote, type Check, type CheckResult} from '../types.js'

interface Expected {
  name: string
  label: string
  path: string
  mode: 0o700 | 0o600
  directory: boolean
}

/**
 * storage.permissions: the folders onramp reads back from are 0700 and the credentials file 0600,
 * all owned by this user and none a symlink (client.md "Sessions, storage and refresh"). Only looks:
 * onramp never chmods or follows these on the user's behalf here.
 */
export const checkFileModes: Check = async (ctx) => {
  if (ctx.platform === 'win32') return [ok('storage', 'storage.permissions', 'not checked on Windows (ACLs, not modes)')]
  const {config, state} = ctx.deps.paths
  const expected: Expected[] = [
    {name: 'config_dir', label: 'config folder', path: config, mode: 0o700, directory: true},
    {name: 'credentials', label: 'credentials.json', path: path.join(config, 'credentials.json'), mode: 0o600, directory: false},
    {name: 'clients', label: 'clients.json', path: path.join(config, 'clients.json'), mode: 0o600, directory: false},
    {name: 'state_dir', label: 'state folder', path: state, mode: 0o700, directory: true},
    {name: 'locks_dir', label: 'locks folder', path: path.join(state, 'locks'), mode: 0o700, directory: true},
  ]
  const uid = process.getuid?.()
  const problems: CheckResult[] = []
  const seen: string[] = []
  for (const item of expected) {
    const problem = await inspect(item, uid)
    if (problem === 'missing') continue
    if (typeof problem === 'number') seen.push(`${item.label} ${problem.toString(8).padStart(4, '0')}`)
    else problems.push(problem)
  }
  if (problems.length > 0) return problems
  if (seen.length === 0) return [ok('storage', 'storage.permissions', `nothing stored yet under ${config}`)]
  return [ok('storage', 'storage.permissions', `${seen.join(', ')}, owned by you`)]
}

/** The problem with one path, or its mode (octal bits) when it is right. */
async function inspect(item: Expected, uid: number | undefined): Promise<CheckResult | number | 'missing'> {
  const id = `storage.permissions.${item.name}`
  const quoted = shellQuote(item.path)
  let stat
  try {
    stat = await fs.lstat(item.path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing'
    return fail('storage', id, `${item.path} cannot be inspected: ${(error as Error).message}`, `ls -ld ${quoted}`)
  }
  if (stat.isSymbolicLink()) {
    return fail('storage', id, `${item.path} is a symlink: onramp refuses to follow it`, `replace the link with a real ${item.directory ? 'folder' : 'file'} (mv ${quoted} ${shellQuote(`${item.path}.link`)})`)
  }
  if (uid !== undefined && stat.uid !== uid) {
    return fail('storage', id, `${item.path} is owned by uid ${stat.uid}, not you (uid ${uid}): onramp refuses it`, `sudo chown $(id -u):$(id -g) ${quoted}`)
  }
  const mode = stat.mode & 0o777
  const wanted = item.mode.toString(8)
  if ((mode & 0o077) !== 0) {
    const who = item.directory && (mode & 0o022) !== 0 ? 'others can write into it' : 'others can read it'
    return fail('storage', id, `${item.path} has mode ${mode.toString(8).padStart(4, '0')}: ${who} (want 0${wanted})`, `chmod ${wanted} ${quoted}`)
  }
  // The owner's own bits: a 0500 folder or a 0400 file cannot be written, so a login could not be saved.
  const ownerNeeds = item.directory ? 0o700 : 0o600
  if ((mode & ownerNeeds) !== ownerNeeds) {
    const lacks = item.directory ? 'you cannot create or replace files in it' : 'you cannot write it'
    return fail('storage', id, `${item.path} has mode ${mode.toString(8).padStart(4, '0')}: ${lacks} (want 0${wanted})`, `chmod ${wanted} ${quoted}`)
  }
  return mode
}
