import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {storageMode, type StorageMode} from '../session/store.js'
import type {DoctorContext} from './types.js'

/** The round trip, once per doctor run. */
export function keychainRoundTrip(ctx: DoctorContext): Promise<{outcome: true | string; ms: number}> {
  const started = Date.now()
  return (ctx.findings.keychain ??= roundTrip(ctx).then((outcome) => ({outcome, ms: Date.now() - started})))
}

/**
 * The program keychain-probe.ts, run by this same Node: the built file beside this one, or, when onramp
 * runs from its sources (tests), the TypeScript file through tsx's loader.
 */
function probeCommand(timeoutMs: number): string[] {
  const built = fileURLToPath(new URL('keychain-probe.js', import.meta.url))
  // The child's own deadlines stay longer than ours, so ours decides (and names) a timeout.
  const args = [String(timeoutMs + 5000)]
  if (existsSync(built)) return [built, ...args]
  const source = fileURLToPath(new URL('keychain-probe.ts', import.meta.url))
  return ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, source, ...args]
}

/**
 * The round trip in a child process (keychain-probe.ts says why), killed at the doctor's deadline.
 * Linux is pinned to the Secret Service, as the keychain store is.
 */
function roundTrip(ctx: DoctorContext): Promise<true | string> {
  try {
    createRequire(import.meta.url).resolve('@napi-rs/keyring')
  } catch {
    return Promise.resolve('@napi-rs/keyring is not installed')
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, probeCommand(ctx.keychainTimeoutMs), {env: ctx.deps.env, stdio: ['ignore', 'pipe', 'ignore']})
    let out = ''
    let settled = false
    const settle = (result: true | string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(result)
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      settle(`no answer in ${ctx.keychainTimeoutMs / 1000} s (a keyring waiting for an unlock prompt, or a D-Bus that does not answer)`)
    }, ctx.keychainTimeoutMs)
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.on('error', (error) => settle(error.message))
    child.on('close', () => {
      try {
        const value = JSON.parse(out) as {ok?: boolean; error?: string}
        if (value.ok) return settle(true)
        const raw = value.error ?? 'unknown error'
        ctx.deps.logger.event('doctor.keychain_error', {error: raw}, 'debug')
        settle(describeKeyringError(raw))
      } catch {
        settle('the keychain probe stopped without an answer')
      }
    })
  })
}

/**
 * The keyring's raw answer as a sentence naming the cause (and so the fix): doctor never shows a raw D-Bus
 * error. The raw text is kept in the log (`onramp doctor --verbose` prints it).
 */
export function describeKeyringError(message: string): string {
  if (/DBUS_SESSION_BUS_ADDRESS is not set|no D-Bus session bus/i.test(message)) {
    return 'no D-Bus session bus in this environment (DBUS_SESSION_BUS_ADDRESS is not set, as over SSH, in a container or in cron), so no Secret Service can be asked'
  }
  if (/session bus at .* (cannot be reached|ENOENT|ECONNREFUSED)|ENOENT|ECONNREFUSED/i.test(message)) {
    return 'the D-Bus session bus that DBUS_SESSION_BUS_ADDRESS names is gone (its daemon stopped, or the address is left from an earlier login)'
  }
  if (/session bus at .* (did not answer|does not answer|timed out)|timed? ?out/i.test(message)) {
    return 'the D-Bus session bus accepts connections but does not answer'
  }
  if (/no result found|NoSuchObject|no such collection/i.test(message)) {
    return 'the Secret Service has no default keyring to store into (none created yet, or it is locked): unlock or create a login keyring'
  }
  if (/ServiceUnknown|org\.freedesktop\.secrets|was not provided by any/i.test(message)) {
    return 'D-Bus answers, but no Secret Service runs on it (no gnome-keyring or KeePassXC with Secret Service on)'
  }
  if (/locked|unlock|prompt|dismissed/i.test(message)) return 'the keyring is locked and nothing here can unlock it'
  if (/AccessDenied|denied|not allowed/i.test(message)) return 'the Secret Service refused onramp access to the keyring'
  if (/DBus|D-Bus|Platform failure|Secret Service/i.test(message)) return 'the Secret Service failed to store a test entry'
  return message.split('\n')[0] ?? message
}

/** ONRAMP_STORAGE's mode, or undefined when the variable is invalid (storage.backend reports that). */
export function keychainWanted(ctx: DoctorContext): StorageMode | undefined {
  try {
    return storageMode(ctx.deps.env)
  } catch {
    return undefined
  }
}
