import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import type {Paths} from '../paths.js'

/**
 * One-time notices (the plaintext-storage advice, its "run `onramp login`"): remembered in the state folder,
 * keyed by what they are about (e.g. the file a session is stored in), so they show once and again only when
 * that changes. `shouldShow` records the key as shown; a folder that cannot be written only means showing again.
 */
export function shouldShow(paths: Paths, key: string): boolean {
  const file = path.join(paths.state, 'notices-shown.json')
  let shown: Record<string, true> = {}
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) shown = parsed as Record<string, true>
  } catch {
    // Missing or unreadable: nothing shown yet.
  }
  if (shown[key]) return false
  try {
    mkdirSync(paths.state, {recursive: true, mode: 0o700})
    writeFileSync(file, `${JSON.stringify({...shown, [key]: true})}\n`, {mode: 0o600})
  } catch {
    // Not remembering only means showing it again next time.
  }
  return true
}

/** The key of the plaintext-storage advice: the store and its file (a different file is news). */
export function storageNoticeKey(storage: {kind: string; location: string}): string | undefined {
  return storage.kind === 'file' ? `plaintext-storage ${storage.location}` : undefined
}

/** Whether the plaintext-storage advice is shown with this session's storage line (and remembers it). */
export function adviseStorage(paths: Paths, storage: {kind: string; location: string}): boolean {
  const key = storageNoticeKey(storage)
  return key === undefined ? true : shouldShow(paths, key)
}
