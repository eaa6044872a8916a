import {UnexpectedError} from '../../errors.js'
import {crypto} from '../../lazy-crypto.js'
import {KEYCHAIN_SERVICE, type SecretBackend} from './backend.js'

/**
 * Windows Credential Manager caps a secret at 2560 bytes of UTF-16 (1280 code units); macOS and the
 * Secret Service allow more. One limit everywhere, with room for the part header, keeps entries portable.
 */
export const MAX_ENTRY_CHARS = 1200

/*
 * Values longer than MAX_ENTRY_CHARS are split: the session's own entry then holds a header
 * `onramp-parts:v1:<generation>:<count>` and the parts live at `<account>#part:<generation>:<i>`.
 * A new generation's parts are written before the header that points at them, and the old parts are
 * deleted after, so a reader (or a crash) never sees a header pointing at missing parts of a
 * half-written value. Plain values are JSON (`{...`) and can never look like a header.
 */
const PARTS_HEADER = /^onramp-parts:v1:([0-9a-f]+):(\d+)$/

/**
 * The most parts onramp ever writes (a session is a few KiB: 64 parts hold 75 KiB). A header claiming
 * more was not written by onramp: its value is refused, and deleting it touches at most this many
 * parts, so an entry claiming 2,000,000,000 parts cannot hang logout or signup.
 */
export const MAX_PARTS = 64

function partAccount(account: string, generation: string, index: number): string {
  return `${account}#part:${generation}:${index}`
}

/** Splits on UTF-16 code units, never between the two halves of a surrogate pair. */
export function splitValue(value: string, size = MAX_ENTRY_CHARS): string[] {
  const parts: string[] = []
  let start = 0
  while (start < value.length) {
    let end = Math.min(start + size, value.length)
    const last = value.charCodeAt(end - 1)
    if (end < value.length && last >= 0xd800 && last <= 0xdbff) end-- // high surrogate: keep the pair together
    parts.push(value.slice(start, end))
    start = end
  }
  return parts
}

function parseHeader(raw: string | undefined): {raw: string | undefined; parts?: {generation: string; count: number}} {
  const match = raw === undefined ? null : PARTS_HEADER.exec(raw)
  return match ? {raw, parts: {generation: match[1]!, count: Number(match[2])}} : {raw}
}

async function readHeader(backend: SecretBackend, account: string): Promise<{raw: string | undefined; parts?: {generation: string; count: number}}> {
  return parseHeader(await backend.get(account))
}

function tooManyParts(account: string, count: number): UnexpectedError {
  return new UnexpectedError(
    `The keychain entry for ${account} (service ${KEYCHAIN_SERVICE}) claims ${count} parts, more than onramp ever writes (${MAX_PARTS}), so it was not written by onramp and is not read. ` +
      `Run onramp logout to remove it (or delete it in the keychain app), then onramp login.`,
    {code: 'keychain_entry_corrupt', nextCommand: 'onramp logout'},
  )
}

/** The value stored at `account` (joined from its parts when split); undefined when there is none. */
export async function readValue(backend: SecretBackend, account: string): Promise<string | undefined> {
  for (let attempt = 0; ; attempt++) {
    const header = await readHeader(backend, account)
    if (!header.parts) return header.raw
    if (header.parts.count > MAX_PARTS) throw tooManyParts(account, header.parts.count)
    const parts: string[] = []
    for (let index = 0; index < header.parts.count; index++) {
      const part = await backend.get(partAccount(account, header.parts.generation, index))
      if (part === undefined) break
      parts.push(part)
    }
    if (parts.length === header.parts.count) return parts.join('')
    // A writer replaced the value between our reads: read its new header once.
    if (attempt > 0) {
      throw new UnexpectedError(
        `The keychain entry for ${account} (service ${KEYCHAIN_SERVICE}) is incomplete: a part is missing. Run onramp login to store a new session.`,
        {code: 'keychain_entry_corrupt', nextCommand: 'onramp login'},
      )
    }
  }
}

/**
 * The accounts of the parts a value read at `account` points at, in order: none for a plain value, and
 * none for a header claiming more than MAX_PARTS (valueIn refuses that one).
 */
export function partAccounts(account: string, raw: string): string[] {
  const {parts} = parseHeader(raw)
  if (!parts || parts.count > MAX_PARTS) return []
  return Array.from({length: parts.count}, (_, index) => partAccount(account, parts.generation, index))
}

/**
 * The value at `account` as `entries` (every entry of the service, read at once) hold it, joined from its
 * parts when split; undefined when they lack the entry or one of its parts (a writer replaced the value
 * between reads: readValue then reads it again, entry by entry).
 */
export function valueIn(entries: ReadonlyMap<string, string>, account: string): string | undefined {
  const header = parseHeader(entries.get(account))
  if (!header.parts) return header.raw
  const {generation, count} = header.parts
  if (count > MAX_PARTS) throw tooManyParts(account, count)
  const parts: string[] = []
  for (let index = 0; index < count; index++) {
    const part = entries.get(partAccount(account, generation, index))
    if (part === undefined) return undefined
    parts.push(part)
  }
  return parts.join('')
}

/** Stores `value` at `account`, split into parts when longer than one entry may hold. */
export async function writeValue(backend: SecretBackend, account: string, value: string): Promise<void> {
  const previous = await readHeader(backend, account)
  if (value.length <= MAX_ENTRY_CHARS) {
    await backend.set(account, value)
  } else {
    const generation = crypto().randomBytes(6).toString('hex')
    const parts = splitValue(value)
    for (const [index, part] of parts.entries()) await backend.set(partAccount(account, generation, index), part)
    await backend.set(account, `onramp-parts:v1:${generation}:${parts.length}`)
  }
  if (previous.parts) await deleteParts(backend, account, previous.parts)
}

/** Removes the value and its parts; true when there was one. */
export async function deleteValue(backend: SecretBackend, account: string): Promise<boolean> {
  const header = await readHeader(backend, account)
  const deleted = await backend.delete(account)
  if (header.parts) await deleteParts(backend, account, header.parts)
  return deleted
}

/** Deletes the parts a header points at: never more than MAX_PARTS, whatever it claims. */
async function deleteParts(backend: SecretBackend, account: string, {generation, count}: {generation: string; count: number}): Promise<void> {
  for (let index = 0; index < Math.min(count, MAX_PARTS); index++) await backend.delete(partAccount(account, generation, index))
}
