import {StorageUnavailableError} from '../errors.js'
import {crypto} from '../lazy-crypto.js'
import {rememberSecret} from '../redact.js'

/**
 * Sealing at rest for the Redis store and `onramp sessions export`: AES-256-GCM (node:crypto) under a
 * 32-byte key from ONRAMP_STORE_KEY, with associated data binding each sealed value to where it belongs
 * (a session's id and version), so a value copied onto another session's key, or an older version
 * replayed, does not open. An envelope is `onramp.<format>.<iv>.<ciphertext>.<tag>` (base64url parts).
 */

export const STORE_KEY_VARIABLE = 'ONRAMP_STORE_KEY'

/** The envelope format this onramp writes and the newest it reads. */
export const SEAL_FORMAT = 1

const KEY_BYTES = 32
const IV_BYTES = 12

/** A fresh key for ONRAMP_STORE_KEY (`onramp store-key`). */
export function newStoreKey(): string {
  const key = crypto().randomBytes(KEY_BYTES).toString('base64')
  rememberSecret(key)
  return key
}

/** ONRAMP_STORE_KEY as 32 bytes; missing or malformed is exit 7 naming the variable. */
export function storeKeyFrom(env: NodeJS.ProcessEnv): Buffer {
  const raw = env[STORE_KEY_VARIABLE]?.trim()
  if (!raw) {
    throw new StorageUnavailableError(
      `${STORE_KEY_VARIABLE} is not set: the Redis store and session exports are sealed with it. Set it to the team's key (a CI secret), or make a new one with onramp store-key.`,
      {code: 'store_key_missing', nextCommand: 'onramp store-key'},
    )
  }
  rememberSecret(raw)
  const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(raw) ? Buffer.from(raw.replaceAll('-', '+').replaceAll('_', '/'), 'base64') : Buffer.alloc(0)
  if (key.length !== KEY_BYTES) {
    throw new StorageUnavailableError(
      `${STORE_KEY_VARIABLE} must be ${KEY_BYTES} bytes in base64 (44 characters, as onramp store-key prints); it is ${key.length === 0 ? 'not base64' : `${key.length} bytes`}.`,
      {code: 'store_key_invalid', nextCommand: 'onramp store-key'},
    )
  }
  return key
}

/** The key cannot open a value it should: the wrong ONRAMP_STORE_KEY, or a value altered or moved. */
export class WrongKeyError extends StorageUnavailableError {
  constructor(what: string) {
    super(
      `${STORE_KEY_VARIABLE} does not open ${what}: it was sealed with another key (or altered). Set ${STORE_KEY_VARIABLE} to the key the sessions were written with.`,
      {code: 'store_key_wrong'},
    )
  }
}

/** Written by a newer onramp: refused, never overwritten. */
export class NewerFormatError extends StorageUnavailableError {
  readonly format: number
  constructor(what: string, format: number) {
    super(`${what} was written by a newer onramp (sealed format ${format}; this onramp reads format ${SEAL_FORMAT} and older). Upgrade onramp (npm install -g onramp@latest).`, {
      code: 'store_format_newer',
    })
    this.format = format
  }
}

export function seal(key: Buffer, plaintext: string, aad: string): string {
  const {createCipheriv, randomBytes} = crypto()
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(aad, 'utf8'))
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return ['onramp', String(SEAL_FORMAT), b64(iv), b64(body), b64(cipher.getAuthTag())].join('.')
}

/** The sealed envelope's format number, or undefined when it is not an onramp envelope at all. */
export function sealFormat(envelope: string): number | undefined {
  const match = /^onramp\.(\d{1,9})\./.exec(envelope)
  return match ? Number(match[1]) : undefined
}

/**
 * Opens an envelope. `what` names the value in errors ("the session ... in Redis"). A newer format is
 * NewerFormatError; a wrong key, other associated data or any alteration is WrongKeyError.
 */
export function unseal(key: Buffer, envelope: string, aad: string, what: string): string {
  const format = sealFormat(envelope)
  if (format === undefined) throw new StorageUnavailableError(`${what} is not a value onramp wrote (no onramp envelope); remove it or restore it.`, {code: 'store_value_invalid'})
  if (format > SEAL_FORMAT) throw new NewerFormatError(what, format)
  const parts = envelope.split('.')
  if (format !== 1 || parts.length !== 5) throw new StorageUnavailableError(`${what} is a damaged onramp envelope.`, {code: 'store_value_invalid'})
  const [iv, body, tag] = parts.slice(2).map((part) => Buffer.from(part, 'base64url'))
  try {
    const decipher = crypto().createDecipheriv('aes-256-gcm', key, iv!)
    decipher.setAAD(Buffer.from(aad, 'utf8'))
    decipher.setAuthTag(tag!)
    return Buffer.concat([decipher.update(body!), decipher.final()]).toString('utf8')
  } catch {
    throw new WrongKeyError(what)
  }
}

/** A keyed digest (HMAC-SHA-256, hex): names in Redis that say nothing without the key. */
export function keyedDigest(key: Buffer, purpose: string, value: string): string {
  return crypto().createHmac('sha256', key).update(`${purpose}\0${value}`).digest('hex')
}

function b64(buffer: Buffer): string {
  return buffer.toString('base64url')
}
