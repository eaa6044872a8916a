import {ALWAYS_ALLOWED_SCOPES, neverAdvertisedReason} from './constant.js'

/**
 * Whether an app's ceiling admits a scope, as the server evaluates it: an empty ceiling means every
 * unprivileged scope; `@default` means the unprivileged scopes plus the listed ones; otherwise the list
 * is exhaustive, a `:write` entry also admitting its `:read` half. `openid profile email introspection`
 * are always allowed; `*` is never granted by provisioning.
 */
export function ceilingAdmits(ceiling: readonly string[], scope: string): boolean {
  if (ALWAYS_ALLOWED_SCOPES.includes(scope)) return true
  if (scope === '*') return false
  if (ceiling.includes(scope)) return true
  const [object, action] = scope.split(':')
  if (action === 'read' && ceiling.includes(`${object}:write`)) return true
  const broad = ceiling.length === 0 || ceiling.includes('@default')
  return broad && neverAdvertisedReason(scope) === undefined
}
