import {openSessionStore, storageMode, type StorageMode} from '../../session/store.js'
import {fail, ok, warn, type Check, type CheckResult, type DoctorContext} from '../types.js'

/**
 * storage.backend: which backend ONRAMP_STORAGE selects and why, by opening the store the way every
 * command does (the keychain probe included), with its one-time warning captured instead of printed.
 */
export const checkStorageBackend: Check = async (ctx) => {
  const id = 'storage.backend'
  let mode: StorageMode
  try {
    mode = storageMode(ctx.deps.env)
  } catch (error) {
    ctx.findings.store = {ok: false, reason: 'ONRAMP_STORAGE is invalid'}
    return [fail('storage', id, (error as Error).message, 'export ONRAMP_STORAGE=auto (or keychain, or file)')]
  }
  const source = ctx.deps.env.ONRAMP_STORAGE?.trim() ? `ONRAMP_STORAGE=${mode}` : 'ONRAMP_STORAGE unset (auto)'
  const warnings: string[] = []
  try {
    const store = await openSessionStore({env: ctx.deps.env, paths: ctx.deps.paths, warn: (message) => warnings.push(message), probe: true})
    ctx.findings.store = {ok: true, store}
    const where = `${store.kind} (${store.location})`
    if (warnings.length > 0) {
      return [warn('storage', id, `${source}: the keychain is unavailable, so sessions go to ${where}: ${warnings[0]}`, 'fix the keychain (see storage.keychain), or export ONRAMP_STORAGE=file to choose the file on purpose')]
    }
    const why =
      mode === 'file' ? 'chosen explicitly'
      : store.kind === 'keychain' ? 'the keychain works'
      // auto opens the keychain when it works and warns when it does not: silence means no backend is built in.
      : 'this onramp has no keychain backend, so auto uses the file'
    return [ok('storage', id, `${source}: sessions in ${where}, ${why}`)]
  } catch (error) {
    ctx.findings.store = {ok: false, reason: 'the store could not be opened'}
    return [fail('storage', id, `${source}: ${(error as Error).message.split('. ')[0]}`, 'fix the keychain (see storage.keychain), or export ONRAMP_STORAGE=file')]
  }
}

/** storage.env_token: ONRAMP_TOKEN wins over every stored session, silently: the classic "I logged in but it still fails". */
export const checkEnvToken: Check = async (ctx): Promise<CheckResult[]> => {
  const id = 'storage.env_token'
  if (!ctx.deps.env.ONRAMP_TOKEN?.trim()) return [ok('storage', id, 'ONRAMP_TOKEN is not set')]
  return [warn('storage', id, 'ONRAMP_TOKEN is set: it overrides stored sessions (token and status use it as-is, unverified)', 'unset ONRAMP_TOKEN')]
}

export function keychainWanted(ctx: DoctorContext): StorageMode | undefined {
  try {
    return storageMode(ctx.deps.env)
  } catch {
    return undefined
  }
}
