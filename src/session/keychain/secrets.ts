import {UnexpectedError} from '../../errors.js'
import {KEYCHAIN_SERVICE} from './backend.js'

/** What the keychain holds for one session. */
export interface SessionSecrets {
  access_token: string
  refresh_token: string | null
}

/** The secrets as stored: a small JSON object, so the refresh token travels with its access token. */
export function encodeSecrets({access_token, refresh_token}: SessionSecrets): string {
  return JSON.stringify({access_token, refresh_token})
}

export function decodeSecrets(value: string, account: string): SessionSecrets {
  try {
    const parsed = JSON.parse(value) as Partial<SessionSecrets>
    if (typeof parsed.access_token === 'string' && parsed.access_token !== '' && (parsed.refresh_token === null || typeof parsed.refresh_token === 'string')) {
      return {access_token: parsed.access_token, refresh_token: parsed.refresh_token || null}
    }
  } catch {
    // reported below
  }
  throw new UnexpectedError(
    `The keychain entry for ${account} (service ${KEYCHAIN_SERVICE}) is not one onramp wrote. It was left unchanged; run onramp login to store a new session.`,
    {code: 'keychain_entry_corrupt', nextCommand: 'onramp login'},
  )
}
