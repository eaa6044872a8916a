import fs from 'node:fs'

/**
 * The fast path's stdout: write(2) on fd 1, whole, without creating `process.stdout` (for a pipe that
 * stream, with the stream and net modules behind it, cost about 3 ms of a start-up that `onramp token`
 * keeps under 1.25x `node -e 0`). A non-blocking pipe that is full (EAGAIN) gets the rest through
 * process.stdout, in order; a reader that went away (EPIPE) ends the output silently, like `gh`.
 */
export function writeStdout(text: string): void {
  const bytes = Buffer.from(text)
  let offset = 0
  while (offset < bytes.length) {
    try {
      offset += fs.writeSync(1, bytes, offset)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EAGAIN') {
        process.stdout.write(bytes.subarray(offset))
        return
      }
      if (code === 'EPIPE') return
      throw error
    }
  }
}
