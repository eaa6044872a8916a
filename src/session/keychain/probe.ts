import {crypto} from '../../lazy-crypto.js'
import {KeychainUnavailableError, type SecretBackend} from './backend.js'

/**
 * Proves the keychain can store a secret right now: write, read back, delete a throwaway entry.
 * A read alone proves little: a locked Secret Service answers "no entry" for items it holds, while a
 * write asks it to unlock (a prompt on a desktop; an error without one). Unique per call, so
 * concurrent processes never see each other's probe.
 */
export async function probeKeychain(backend: SecretBackend): Promise<{ok: true} | {ok: false; reason: string}> {
  const account = `onramp-probe-${process.pid}-${crypto().randomBytes(6).toString('hex')}`
  const value = crypto().randomBytes(12).toString('hex')
  try {
    await backend.set(account, value)
    const read = await backend.get(account)
    await backend.delete(account)
    if (read !== value) return {ok: false, reason: `${backend.name} did not return what was just stored in it`}
    return {ok: true}
  } catch (error) {
    if (error instanceof KeychainUnavailableError) return {ok: false, reason: error.reason}
    throw error
  }
}
