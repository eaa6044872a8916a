import {promises as fs} from 'node:fs'
import path from 'node:path'
import {crypto} from './lazy-crypto.js'

// Hand-written rather than write-file-atomic: that one realpath()s the target and writes through a symlink, which onramp must refuse.
/**
 * Temp file in the same folder (rename is only atomic within one filesystem), created 0600 so the
 * secret is never readable by others even for an instant, flushed to disk before it replaces the old file.
 * The caller creates the folder (with the mode it wants).
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto().randomBytes(6).toString('hex')}.tmp`)
  try {
    const handle = await fs.open(temp, 'wx', 0o600)
    try {
      await handle.writeFile(text, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    await fs.rename(temp, file)
  } catch (error) {
    await fs.rm(temp, {force: true})
    throw error
  }
  await syncDir(path.dirname(file))
}

/** Makes the rename itself durable; not supported everywhere (Windows), where it is skipped. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await fs.open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // best effort
  }
}
