// Shared by the bench sections: throwaway folders and child processes that are cleaned up even when the
// bench fails or is interrupted, the CLI's environment, and a runner for the built binary.
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export const root = path.resolve(import.meta.dirname, '..', '..')
export const bin = path.join(root, 'bin', 'run.cjs')
export const WIZARD_CLIENT_ID = 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM'
export const WIZARD_CEILING = ['@default', 'llm_gateway:read', 'wizard_session:read', 'wizard_session:write']
export const SCRIPTED_BROWSER = `${process.execPath} ${path.join(root, 'scripts', 'scripted-browser.mjs')}`

const folders = new Set()
const children = new Set()
const finalizers = []

/** Removes every temp folder and kills every child still running: on normal exit, on errors, on Ctrl-C. */
export function cleanupNow() {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  children.clear()
  for (const folder of folders) rmSync(folder, {recursive: true, force: true})
  folders.clear()
}
process.on('exit', cleanupNow)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    cleanupNow()
    process.exit(130)
  })
}

/** Async cleanups (e.g. logging out of keychain sessions) run by `finish()` before the folders go. */
export function onFinish(task) {
  finalizers.push(task)
}
export async function finish() {
  for (const task of finalizers.splice(0).reverse()) await task().catch(() => undefined)
  cleanupNow()
}

export function tempFolder(prefix) {
  const folder = mkdtempSync(path.join(os.tmpdir(), prefix))
  folders.add(folder)
  return folder
}
export function forget(folder) {
  rmSync(folder, {recursive: true, force: true})
  folders.delete(folder)
}

export function track(child) {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** The environment every spawned CLI starts from: ours minus what would steer it elsewhere. */
export function baseEnv() {
  const env = {...process.env}
  for (const name of ['NODE_ENV', 'DISPLAY', 'WAYLAND_DISPLAY', 'DEBUG', 'BROWSER', 'FOLLOW_LOG', 'ONRAMP_TOKEN', 'ONRAMP_HOST', 'ONRAMP_REGION', 'ONRAMP_CLIENT_ID', 'ONRAMP_STORAGE', 'ONRAMP_NO_FAST_PATH', 'HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy']) {
    delete env[name]
  }
  return env
}

/** A throwaway HOME with its XDG folders inside. */
export function isolatedHome(prefix, storage = 'file') {
  const home = tempFolder(prefix)
  return {
    home,
    env: {
      HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CACHE_HOME: path.join(home, '.cache'),
      XDG_STATE_HOME: path.join(home, '.local', 'state'), XDG_DATA_HOME: path.join(home, '.local', 'share'), ONRAMP_STORAGE: storage,
    },
  }
}

/** Runs the built binary; resolves with its exit code, output and wall time (ms). Killed past timeoutMs. */
export function runCli(args, env, {timeoutMs = 60_000} = {}) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint()
    const child = track(spawn(process.execPath, [bin, ...args], {cwd: root, env: {...baseEnv(), ...env}, stdio: ['ignore', 'pipe', 'pipe']}))
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code: code ?? (signal ? `killed (${signal})` : null), stdout, stderr, ms: Number(process.hrtime.bigint() - started) / 1e6})
    })
  })
}

/**
 * Is a Secret Service (or the OS keychain) answering? A write/delete round trip through @napi-rs/keyring
 * in a child process under a deadline, so a hung D-Bus cannot hang the bench.
 */
export function keychainReachable() {
  const probe = `
    const {AsyncEntry} = require('@napi-rs/keyring')
    const entry = new AsyncEntry('onramp-bench-probe', 'probe', {linux: {store: 'secret-service'}})
    entry.setPassword('x').then(() => entry.deleteCredential()).then(() => process.exit(0), () => process.exit(1))`
  const result = spawnSync(process.execPath, ['-e', probe], {cwd: root, env: baseEnv(), timeout: 5000, stdio: 'ignore'})
  return result.status === 0
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** Never a token in the report, even from an error message. */
export function redact(text) {
  return String(text).replace(/\b(ph[a-z]_)[A-Za-z0-9_-]{6,}/g, '$1…').trim()
}
