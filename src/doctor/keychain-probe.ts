/**
 * The doctor's keychain round trip, as the program its child process runs:
 * `node dist/doctor/keychain-probe.js <timeoutMs>` prints `{"ok":true}` or `{"error":"..."}` and exits.
 * A child, because `new AsyncEntry()` connects to D-Bus synchronously (a bus that accepts and never answers
 * blocks the calling thread for good) and a locked keyring can wait on a GUI prompt: only a process can be
 * killed at the deadline (keychain-round-trip.ts). The round trip itself is the one the stores use
 * (probeKeychain over the native backend: D-Bus answer first, write, read back, delete a throwaway entry),
 * under a service onramp never keeps sessions in.
 */
import {pathToFileURL} from 'node:url'

import {createNativeBackend} from '../session/keychain/native.js'
import {probeKeychain} from '../session/keychain/probe.js'
import {endNow, stuckCalls} from '../session/keychain/stuck-exit.js'

export const PROBE_SERVICE = 'onramp-doctor-probe'

export type ProbeAnswer = {ok: true} | {error: string}

export async function runKeychainProbe(timeoutMs: number): Promise<ProbeAnswer> {
  try {
    const result = await probeKeychain(createNativeBackend({service: PROBE_SERVICE, timeoutMs}))
    return result.ok ? {ok: true} : {error: result.reason}
  } catch (error) {
    return {error: error instanceof Error ? error.message : String(error)}
  }
}

// Run as a program (not when imported): answer on stdout, then exit; a native call still running past its
// deadline would make process.exit() wait for it (stuck-exit.ts), so then the process is ended outright.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const timeoutMs = Number(process.argv[2])
  void runKeychainProbe(Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : 20_000).then((answer) =>
    process.stdout.write(JSON.stringify(answer), () => (stuckCalls() > 0 ? endNow(0) : process.exit(0))),
  )
}
