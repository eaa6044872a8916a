import {createInterface} from 'node:readline'

import {NotLoggedInError} from '../errors.js'
import type {Writer} from '../output.js'
import type {CallbackListener} from './loopback.js'

/**
 * Waits for the authorization response: the loopback callback, or (--no-browser) the final redirect
 * URL pasted on stdin, whichever comes first; gives up after `timeoutSeconds` (exit 3).
 */
export async function awaitCallback({
  listener,
  timeoutSeconds,
  paste,
}: {
  listener: CallbackListener
  timeoutSeconds: number
  paste?: {stdin: NodeJS.ReadableStream; stderr: Writer}
}): Promise<URLSearchParams> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new NotLoggedInError(
            `No authorization arrived within ${timeoutSeconds} s; nothing was stored. If the browser showed an error, fix what it says; then run onramp login again (--timeout sets the wait).`,
            {code: 'login_timeout'},
          ),
        ),
      timeoutSeconds * 1000,
    )
  })
  const lines = paste ? createInterface({input: paste.stdin, terminal: false}) : undefined
  lines?.on('line', (line) => {
    if (!line.trim()) return
    const refusal = listener.submit(line)
    if (refusal) paste!.stderr.write(`That URL was not accepted: ${refusal}. Paste the address again:\n`)
  })
  try {
    return await Promise.race([listener.result, timeout])
  } finally {
    clearTimeout(timer)
    lines?.close()
  }
}
