import {fail, ok, warn, type Check, type DoctorContext} from '../types.js'
import {keychainRoundTrip, keychainWanted} from '../keychain-round-trip.js'

const SLOW_MS = 2000

/** storage.keychain: a timed write, read and delete of a throwaway keychain entry, under a deadline. */
export const checkKeychain: Check = async (ctx) => {
  const id = 'storage.keychain'
  const mode = keychainWanted(ctx)
  if (mode === 'file' || mode === 'redis') return [ok('storage', id, `not used: ONRAMP_STORAGE=${mode}`)]
  const {outcome, ms} = await keychainRoundTrip(ctx)
  if (outcome === true) {
    if (ms > SLOW_MS) return [warn('storage', id, `keychain round trip took ${ms} ms (slow: every token read pays it)`, unlockFix(ctx))]
    return [ok('storage', id, `keychain round trip in ${ms} ms`)]
  }
  const summary = `keychain round trip failed after ${ms} ms: ${outcome}`
  if (mode === 'keychain') return [fail('storage', id, `${summary}; ONRAMP_STORAGE=keychain refuses the file`, `${unlockFix(ctx)}, or export ONRAMP_STORAGE=file`)]
  return [warn('storage', id, `${summary}; auto falls back to the 0600 file`, `${unlockFix(ctx)}, or export ONRAMP_STORAGE=file to silence this`)]
}

function unlockFix(ctx: DoctorContext): string {
  if (ctx.platform === 'darwin') return 'unlock the login keychain (security unlock-keychain ~/Library/Keychains/login.keychain-db)'
  if (ctx.platform === 'win32') return 'check the Windows Credential Manager'
  return 'start and unlock a Secret Service (e.g. gnome-keyring-daemon --start --components=secrets, or KeePassXC with Secret Service on)'
}
