import {spawn} from 'node:child_process'
import {createRequire} from 'node:module'

import {storageMode, type StorageMode} from '../session/store.js'
import type {DoctorContext} from './types.js'

/**
 * The round trip, run in a child process: `new AsyncEntry()` connects to D-Bus synchronously, so a
 * bus that accepts the connection and never answers blocks the calling thread for good, and a locked
 * keyring can wait on a GUI prompt. Only a process can be killed at the deadline. Writes, reads back
 * and deletes a throwaway entry (a service onramp never stores sessions under), Linux pinned to the
 * Secret Service as the keychain backend is.
 */
const PROBE = `
const {randomBytes} = require('node:crypto')
const {AsyncEntry} = require(process.argv[1])
const report = (value) => process.stdout.write(JSON.stringify(value))
;(async () => {
  const entry = new AsyncEntry('onramp-doctor-probe', 'probe-' + randomBytes(6).toString('hex'), {linux: {store: 'secret-service'}})
  const secret = randomBytes(16).toString('hex')
  await entry.setPassword(secret)
  try {
    const read = await entry.getPassword()
    report(read === secret ? {ok: true} : {error: 'the entry read back differs from the one written'})
  } finally {
    await entry.deletePassword().catch(() => false)
  }
})().catch((error) => report({error: String(error && error.message || error)}))
`

/** The round trip, once per doctor run. */
export function keychainRoundTrip(ctx: DoctorContext): Promise<{outcome: true | string; ms: number}> {
  const started = Date.now()
  return (ctx.findings.keychain ??= roundTrip(ctx).then((outcome) => ({outcome, ms: Date.now() - started})))
}

function roundTrip(ctx: DoctorContext): Promise<true | string> {
  let library: string
  try {
    library = createRequire(import.meta.url).resolve('@napi-rs/keyring')
  } catch {
    return Promise.resolve('@napi-rs/keyring is not installed')
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', PROBE, library], {env: ctx.deps.env, stdio: ['ignore', 'pipe', 'ignore']})
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
