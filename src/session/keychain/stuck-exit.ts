/*
 * A native keychain call cut at its deadline keeps running on libuv's thread pool (an unlock prompt that
 * nobody answers, a Secret Service that stopped answering), and Node joins that pool when the process
 * ends, process.exit() included: the CLI would print its exit-7 error and then never end, holding a CI
 * job until that job's own timeout. So once the deadline of a native call has passed, this watches for
 * the moment nothing but such a call is left (no handle or request but stdio: its work is done, its
 * output written) and then ends the process with the exit code the run set. On Node >= 22.15
 * by exec'ing `/bin/sh -c 'exit N'` over it (process.execve: the stuck threads end with the old image,
 * the parent sees N); on Node 20 by SIGKILL, the only way left (a shell sees 137).
 */

/** How often the watch looks, and how many looks in a row must find nothing but the stuck call. */
const LOOK_MS = 200
const QUIET_LOOKS = 2

let watching = false

/**
 * Starts the watch (once per process). Only in a CLI process: never in a worker thread or a process with
 * an IPC channel (a test runner's worker), whose handles are not the CLI's to judge.
 */
export function endWhenOnlyStuckCallsRemain(): void {
  if (watching || process.channel || !process.getBuiltinModule('node:worker_threads').isMainThread) return
  watching = true
  let quiet = 0
  const timer = setInterval(() => {
    quiet = nothingLeft() ? quiet + 1 : 0
    if (quiet >= QUIET_LOOKS) endNow(exitCodeOfRun())
  }, LOOK_MS)
  timer.unref() // the watch itself must never be what keeps the process alive
}

interface Internals {
  _getActiveHandles?: () => unknown[]
  _getActiveRequests?: () => unknown[]
}

/**
 * No handle or request keeps the process alive but its own stdio streams (a piped stdout counts as an
 * active handle while it lives) and this watch's unreferenced timer; a native call on the thread pool is
 * not among them. A write still in flight to a pipe is a request: the watch waits for it.
 */
function nothingLeft(): boolean {
  const {_getActiveHandles, _getActiveRequests} = process as unknown as Internals
  if (typeof _getActiveHandles === 'function' && typeof _getActiveRequests === 'function') {
    const stdio = new Set<unknown>([process.stdin, process.stdout, process.stderr])
    return _getActiveRequests.call(process).length === 0 && _getActiveHandles.call(process).every((handle) => stdio.has(handle))
  }
  // Without the internals: only stdio's own kinds of handle (at most three) may be left.
  const left = process.getActiveResourcesInfo()
  return left.length <= 3 && left.every((kind) => kind === 'PipeWrap' || kind === 'TTYWrap')
}

function exitCodeOfRun(): number {
  const code = Number(process.exitCode ?? 0)
  return Number.isInteger(code) && code >= 0 && code <= 255 ? code : 1
}

type Execve = (file: string, args: string[], env: Record<string, string>) => never

function endNow(code: number): void {
  const execve = (process as unknown as {execve?: Execve}).execve
  if (typeof execve === 'function') {
    try {
      execve.call(process, '/bin/sh', ['sh', '-c', `exit ${code}`], {})
    } catch {
      // no /bin/sh: fall through
    }
  }
  process.kill(process.pid, 'SIGKILL')
}
