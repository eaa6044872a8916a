import {NotLoggedInError} from '../errors.js'
import type {Ui} from '../ui.js'
import type {CallbackListener} from './loopback.js'

/**
 * Waits for the authorization response: the loopback callback, or a redirect URL pasted on stdin
 * (--no-browser, or no browser could open), whichever comes first; gives up after `timeoutSeconds` (exit 3).
 */
export async function awaitCallback({
  listener,
  timeoutSeconds,
  paste,
  signal,
  explainTimeout,
  pasteEnded,
}: {
  listener: CallbackListener
  timeoutSeconds: number
  /** Accept pasted redirect URLs through this ui while the loopback keeps listening. */
  paste?: Ui | undefined
  /** Stops the wait at once (Ctrl-C): its reason is thrown. */
  signal?: AbortSignal | undefined
  /** The likely cause when nothing came back (a refused redirect), told at the timeout. */
  explainTimeout?: (() => string | undefined) | undefined
  /** When pasting is the way back (--no-browser) and stdin ends with nothing accepted: the error to stop with at once. */
  pasteEnded?: (() => Error) | undefined
}): Promise<URLSearchParams> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        const cause = explainTimeout?.()
        reject(
          new NotLoggedInError(
            cause
              ? `No authorization arrived within ${timeoutSeconds} s; nothing was stored. ${cause}`
              : `No authorization arrived within ${timeoutSeconds} s; nothing was stored. If the browser showed an error, fix what it says; then run onramp login again (--timeout sets the wait).`,
            {code: 'login_timeout'},
          ),
        )
      },
      timeoutSeconds * 1000,
    )
  })
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal?.reason)
    if (signal?.aborted) onAbort()
    else signal?.addEventListener('abort', onAbort, {once: true})
  })
  let onEnded: (() => void) | undefined
  const ended = new Promise<never>((_, reject) => {
    onEnded = () => {
      if (pasteEnded) reject(pasteEnded())
    }
  })
  const stopReading = paste?.readLines(
    (line) => {
      if (!line.trim()) return
      const refusal = listener.submit(line)
      if (refusal) paste.info(`That URL was not accepted: ${refusal}. Paste the address again:`)
    },
    () => onEnded?.(),
  )
  try {
    return await Promise.race([listener.result, timeout, aborted, ended])
  } finally {
    clearTimeout(timer)
    if (onAbort) signal?.removeEventListener('abort', onAbort)
    stopReading?.()
  }
}
