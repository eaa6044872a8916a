import {promises as fs} from 'node:fs'
import path from 'node:path'

import type {Paths} from '../paths.js'

/** The auto fallback warning, once per reason: a marker in the state dir remembers it was shown. */
export async function warnFallbackOnce({paths, reason, location, warn}: {paths: Paths; reason: string; location: string; warn: (message: string) => void}): Promise<void> {
  const marker = fallbackMarker(paths)
  const shown = await fs.readFile(marker, 'utf8').catch(() => undefined)
  if (shown === reason) return
  warn(
    `The OS keychain is unavailable (${reason}); sessions are stored in ${location} (plaintext, mode 0600). ` +
      'Fix the keychain and run onramp login to move them into it, or set ONRAMP_STORAGE=file to choose the file. This warning is shown once.',
  )
  try {
    await fs.mkdir(path.dirname(marker), {recursive: true, mode: 0o700})
    await fs.writeFile(marker, reason, {mode: 0o600})
  } catch {
    // Not remembering only means warning again next time.
  }
}

/** Removes the marker: the keychain works again, so a later fallback warns again. */
export async function forgetFallbackWarning(paths: Paths): Promise<void> {
  await fs.rm(fallbackMarker(paths), {force: true}).catch(() => undefined)
}

function fallbackMarker(paths: Paths): string {
  return path.join(paths.state, 'keychain-fallback-warned')
}
