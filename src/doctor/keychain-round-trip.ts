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
        settle(value.ok ? true : describeKeyringError(value.error ?? 'unknown error'))
      } catch {
        settle('the keychain probe stopped without an answer')
      }
    })
  })
}

function describeKeyringError(message: string): string {
  const first = message.split('\n')[0] ?? message
  if (/ServiceUnknown|org\.freedesktop\.secrets|DBus|D-Bus/i.test(message)) return `no Secret Service answers on D-Bus (${first})`
  return first
}

/** ONRAMP_STORAGE's mode, or undefined when the variable is invalid (storage.backend reports that). */
export function keychainWanted(ctx: DoctorContext): StorageMode | undefined {
  try {
    return storageMode(ctx.deps.env)
  } catch {
    return undefined
  }
}
