/*
 * A native keychain call cut at its deadline keeps running on libuv's thread pool (an unlock prompt that
 * nobody answers, a Secret Service that stopped answering), and Node joins that pool when the process
 * ends, process.exit() included: the CLI would print its exit-7 error and then never end, holding a CI
 * job until that job's own timeout.
 *
 * So the native backend counts its calls that are past their deadline and still running (`stuckCall`,
 * released when the call does end), and the CLI's entry, once the command has finished and its output
 * is written, ends the process itself if one is still running (`endIfKeychainStuck`): the command decides
 * nothing here, it has already set its exit code. On Node >= 22.15 by exec'ing Node over the process with
 * that exit code (process.execve: the stuck threads end with the old image, the parent sees the code); on
 * Node 20 by SIGKILL, the only way left (a shell sees 137).
 *
 * The count is process-wide (a global symbol): the fast path's bundle and oclif's modules are separate
 * copies of this module.
 */

const STUCK = Symbol.for('onramp.keychain.stuckCalls')

interface Counter {
  [STUCK]?: number
}

const counter = globalThis as Counter

/** A native call passed its deadline: counted until `settled` settles. */
export function stuckCall(settled: Promise<unknown>): void {
  counter[STUCK] = (counter[STUCK] ?? 0) + 1
  const release = () => {
    counter[STUCK] = (counter[STUCK] ?? 1) - 1
  }
  settled.then(release, release)
}

/** How many native keychain calls are past their deadline and still running. */
export function stuckCalls(): number {
  return counter[STUCK] ?? 0
}

/**
 * For the CLI's entry, after the command: when a keychain call is still stuck, ends the process once
 * stdout and stderr are flushed, with the exit code the run set. Returns (and the process ends as usual)
 * otherwise.
 */
export async function endIfKeychainStuck(): Promise<void> {
  if (stuckCalls() === 0) return
  await Promise.all([flushed(process.stdout), flushed(process.stderr)])
  if (stuckCalls() > 0) endNow(exitCodeOfRun())
}

/** Resolves once what was written to `stream` before now has been handed to the OS. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.writable) return resolve()
    stream.write('', () => resolve())
  })
}

function exitCodeOfRun(): number {
  const code = Number(process.exitCode ?? 0)
  return Number.isInteger(code) && code >= 0 && code <= 255 ? code : 1
}

type Execve = (file: string, args: string[], env: Record<string, string>) => never

/** Ends the process at once with `code` (Node >= 22.15), or by SIGKILL. */
export function endNow(code: number): never {
  const execve = (process as unknown as {execve?: Execve}).execve
  // Node itself as the new image: always there (a distroless image has no /bin/sh), and an execve that
  // fails aborts the process rather than throwing.
  if (typeof execve === 'function') execve.call(process, process.execPath, [process.execPath, '-e', `process.exitCode = ${code}`], {})
  process.kill(process.pid, 'SIGKILL')
  throw new Error('unreachable: the process was ended')
}
