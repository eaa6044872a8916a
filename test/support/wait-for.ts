/**
 * Waits for an event a test cannot subscribe to (another process's state, a file appearing, a socket
 * closing): checks `condition` every `everyMs` until it holds, and fails naming `what` after
 * `timeoutMs`. The wait ends with the event, never after a fixed time; the timeout only turns a hang
 * into a message.
 */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, {timeoutMs = 20_000, everyMs = 20}: {timeoutMs?: number; everyMs?: number} = {}): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/** Like waitFor, for a value: resolves with the first defined value `probe` returns. */
export async function waitForValue<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, options: {timeoutMs?: number; everyMs?: number} = {}): Promise<T> {
  let value: T | undefined
  await waitFor(what, async () => (value = await probe()) !== undefined, options)
  return value!
}
