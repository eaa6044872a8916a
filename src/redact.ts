/**
 * Keeps secrets out of logs, errors and --verbose output (client.md "Security rules"). Redaction is
 * by shape (token prefixes, Bearer headers, JWTs), by field name, and by the literal values of the
 * tokens this process holds (rememberSecret), so it also catches secrets in text we did not build
 * ourselves, such as a server's error_description quoting an opaque refresh token.
 */

/** The one marker used everywhere, so a reader (or a grep) recognises a redacted value. */
export const REDACTED = '[REDACTED]'

/**
 * Field names whose values are secrets, compared case-insensitively. The brief's OAuth/PostHog set,
 * plus a few obvious neighbours (id_token_hint carries an ID token, api keys, auth headers).
 */
export const SECRET_FIELDS: readonly string[] = [
  'access_token',
  'refresh_token',
  'id_token',
  'id_token_hint',
  'code',
  'code_verifier',
  'client_secret',
  'client_assertion',
  'token',
  'password',
  'api_key',
  'personal_api_key',
  'secret',
  'authorization',
  'cookie',
]
const SECRET_SET = new Set(SECRET_FIELDS)

export function isSecretField(name: string): boolean {
  return SECRET_SET.has(name.toLowerCase())
}

const FIELDS = SECRET_FIELDS.join('|')

// Order matters: field-based rules first keep the field name readable; shape rules then catch the rest.
const RULES: ReadonlyArray<readonly [RegExp, string]> = [
  // "field": "value" in JSON (whitespace allowed around the colon).
  [new RegExp(`("(?:${FIELDS})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi'), `$1"${REDACTED}"`],
  // The same JSON, escaped inside another JSON string: \"field\":\"value\".
  [new RegExp(`(\\\\"(?:${FIELDS})\\\\"\\s*:\\s*)\\\\".*?\\\\"`, 'gi'), `$1\\"${REDACTED}\\"`],
  // field=value in a query string or form body; the lookbehind keeps `error_code=` or `barcode=` intact.
  [new RegExp(`(?<![A-Za-z0-9_-])((?:${FIELDS})=)[^&\\s"'<>]+`, 'gi'), `$1${REDACTED}`],
  // Authorization: Bearer <token>.
  [/\b(Bearer\s+)[A-Za-z0-9\-._~+/]+=*/gi, `$1${REDACTED}`],
  // JWTs (ID tokens, some access tokens): header.payload.signature, base64url, header starts `eyJ` ({").
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACTED],
  // PostHog-style keys and tokens: keep the prefix, it says what kind of secret it was.
  [/(?<![A-Za-z0-9])(ph[arxsc]_)[A-Za-z0-9]{8,}/g, `$1${REDACTED}`],
]

/**
 * The exact token values this process holds, whatever their shape: remembered where tokens enter
 * (token responses, sessions read from a store, ONRAMP_TOKEN) and replaced by every redact() call.
 * Process-wide on purpose: the error printer and the logger cannot be handed every token.
 */
const secrets = new Set<string>()
let secretsLongestFirst: string[] = []

/** Shorter values would match ordinary words; real tokens are far longer. */
const MIN_SECRET_LENGTH = 8

/** Adds a token's literal value (and its JSON- and URL-escaped forms) to what redact() hides. */
export function rememberSecret(value: string | null | undefined): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) return
  const before = secrets.size
  for (const form of [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]) secrets.add(form)
  if (secrets.size !== before) secretsLongestFirst = [...secrets].sort((a, b) => b.length - a.length)
}

/** For tests: forget every remembered value. */
export function forgetSecrets(): void {
  secrets.clear()
  secretsLongestFirst = []
}

/** Returns `text` with every remembered secret and every token-looking value replaced by REDACTED. */
export function redact(text: string): string {
  let result = text
  for (const secret of secretsLongestFirst) if (result.includes(secret)) result = result.split(secret).join(REDACTED)
  for (const [pattern, replacement] of RULES) result = result.replace(pattern, replacement)
  return result
}

/**
 * A deep copy of `value` safe to log: values under secret field names are replaced whole (whatever
 * their type), every other string goes through redact(). Errors become {name, message}; cycles are cut.
 */
export function redactValue(value: unknown): unknown {
  return copy(value, new WeakSet())
}

function copy(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redact(value)
  if (value === null || typeof value !== 'object') return value
  if (seen.has(value)) return '[Circular]'
  seen.add(value)
  try {
    if (Array.isArray(value)) return value.map((item) => copy(item, seen))
    if (value instanceof Date) return value.toISOString()
    if (value instanceof Error) return {name: value.name, message: redact(value.message)}
    if (value instanceof URL) return redact(value.href)
    const result: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      result[key] = isSecretField(key) && item !== null && item !== undefined ? REDACTED : copy(item, seen)
    }
    return result
  } finally {
    // Only ancestors count as cycles: the same object twice side by side is copied twice.
    seen.delete(value)
  }
}
