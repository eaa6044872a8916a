/**
 * A simple, strict shape check: one `@`, no spaces or control characters, a dot in the domain, no empty
 * labels. The server does none (server.md 4.2 "no format check"), and an account created for a typo
 * cannot be verified. Also how an account named in `--account`, ONRAMP_ACCOUNT or `.onramp.json` is checked.
 */
export function isValidEmail(value: string): boolean {
  if (value.length > 254) return false
  const match = /^([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$/.exec(value)
  if (!match) return false
  const [, local, domain] = match as unknown as [string, string, string]
  if (local.length > 64 || local.startsWith('.') || local.endsWith('.') || local.includes('..')) return false
  return domain.split('.').every((label) => label.length > 0 && label.length <= 63 && !label.startsWith('-') && !label.endsWith('-'))
}
