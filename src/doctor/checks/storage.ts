import path from 'node:path'

import {openSessionStore} from '../../session/open-store.js'
import {storageMode, type StorageMode} from '../../session/store.js'
import {keychainRoundTrip} from '../keychain-round-trip.js'
import {fail, ok, warn, type Check, type CheckResult} from '../types.js'

/**
 * storage.backend: which backend ONRAMP_STORAGE selects and why: the keychain round trip (shared with
 * storage.keychain) decides between the keychain and the file, as login's check before the browser does.
 */
export const checkStorageBackend: Check = async (ctx) => {
  const id = 'storage.backend'
  let mode: StorageMode
  try {
    mode = storageMode(ctx.deps.env)
  } catch (error) {
    ctx.findings.store = {ok: false, reason: 'ONRAMP_STORAGE is invalid'}
    return [fail('storage', id, (error as Error).message, 'export ONRAMP_STORAGE=auto (or keychain, file, redis)')]
  }
  const source = ctx.deps.env.ONRAMP_STORAGE?.trim() ? `ONRAMP_STORAGE=${mode}` : 'ONRAMP_STORAGE unset (auto)'
  try {
    // The keychain is proved in a child process with the doctor's own environment (a hung D-Bus cannot hang
    // this one); the store itself is opened without its in-process probe, reading metadata only.
    const keychain = mode === 'file' || mode === 'redis' ? undefined : await keychainRoundTrip(ctx)
    if (keychain && keychain.outcome !== true && mode === 'keychain') {
      ctx.findings.store = {ok: false, reason: 'ONRAMP_STORAGE=keychain and the keychain is unavailable'}
      return [fail('storage', id, `${source}: the keychain is unavailable (${keychain.outcome}) and keychain mode never falls back`, 'fix the keychain (see storage.keychain), or export ONRAMP_STORAGE=file')]
    }
    const store = await openSessionStore({env: ctx.deps.env, paths: ctx.deps.paths, warn: () => undefined})
    // Redis: reachable within its deadline, writable, and ONRAMP_STORE_KEY opens what it holds.
    if (mode === 'redis') await store.checkWritable?.()
    ctx.findings.store = {ok: true, store}
    if (keychain && keychain.outcome !== true) {
      const file = path.join(ctx.deps.paths.config, 'credentials.json')
      return [warn('storage', id, `${source}: the keychain is unavailable (${keychain.outcome}), so new sessions go to the plaintext file ${file}`, 'fix the keychain (see storage.keychain), or export ONRAMP_STORAGE=file to choose the file on purpose')]
    }
    const where = `${store.kind} (${store.location})`
    const why = mode === 'file' ? 'chosen explicitly' : mode === 'redis' ? 'Redis answers, takes writes, and ONRAMP_STORE_KEY opens its sessions' : 'the keychain works'
    return [ok('storage', id, `${source}: sessions in ${where}, ${why}`)]
  } catch (error) {
    ctx.findings.store = {ok: false, reason: 'the store could not be opened'}
    const fix = mode === 'redis' ? 'check ONRAMP_REDIS_URL, ONRAMP_REDIS_PASSWORD and ONRAMP_STORE_KEY' : 'fix the keychain (see storage.keychain), or export ONRAMP_STORAGE=file'
    return [fail('storage', id, `${source}: ${(error as Error).message.split('. ')[0]}`, fix)]
  }
}

/** storage.env_token: ONRAMP_TOKEN wins over every stored session, silently: the classic "I logged in but it still fails". */
export const checkEnvToken: Check = async (ctx): Promise<CheckResult[]> => {
  const id = 'storage.env_token'
  if (!ctx.deps.env.ONRAMP_TOKEN?.trim()) return [ok('storage', id, 'ONRAMP_TOKEN is not set')]
  return [warn('storage', id, 'ONRAMP_TOKEN is set: it overrides stored sessions (token and status use it as-is, unverified)', 'unset ONRAMP_TOKEN')]
}
