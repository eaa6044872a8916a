import type fs from 'node:fs'

/**
 * The judgement behind "trust only what is yours" (src/fs-trust.ts, which turns it into errors naming the fix),
 * kept apart with no imports so the start-up loader (src/fast/boot.ts) can judge its code cache folder without
 * loading onramp's error classes. POSIX only: Windows has ACLs and no uid/mode bits, and everything passes there.
 */
export const POSIX = process.platform !== 'win32'

export type TrustProblem = 'symlink' | 'not a folder' | 'not a file' | 'not ours' | 'writable by others'

/**
 * What makes an lstat result unfit to trust as a private folder or file of ours, or undefined. Readable by
 * others is no problem here: nothing can be planted through read access (callers tighten it).
 */
export function trustProblem(stat: fs.Stats, kind: 'folder' | 'file'): TrustProblem | undefined {
  if (!POSIX) return undefined
  if (stat.isSymbolicLink()) return 'symlink'
  if (kind === 'folder' ? !stat.isDirectory() : !stat.isFile()) return kind === 'folder' ? 'not a folder' : 'not a file'
  if (stat.uid !== process.getuid!()) return 'not ours'
  if ((stat.mode & 0o022) !== 0) return 'writable by others'
  return undefined
}
