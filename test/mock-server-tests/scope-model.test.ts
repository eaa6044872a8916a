import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import * as data from '../mock-server/scope-data.js'
import {INTERNAL_SCOPE_OBJECTS, OAUTH_HIDDEN_SCOPE_OBJECTS, PRIVILEGED_SCOPES, SCOPE_COUNTS, SCOPE_OBJECTS, WIZARD_APP_CEILING} from '../mock-server/scope-data.js'
import {
  ALL_SCOPES,
  decideAuthorizeScopes,
  effectiveCeiling,
  HIDDEN_SCOPES,
  narrowOnRefresh,
  scopesOutsideProvisioningCeiling,
  scopesSupported,
  tokenHasScope,
  UNPRIVILEGED_SCOPES,
} from '../mock-server/scopes.js'
import {itUnless} from '../support/skip.js'

/** The spec's scopes.json, beside the repository (../shared/spec); absent in a bare checkout. */
const SPEC_SCOPES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/spec/scopes.json')

describe('scope model (server.md section 2)', () => {
  itUnless(!existsSync(SPEC_SCOPES) && `the spec's scopes.json is not at ${SPEC_SCOPES}`)('scope-data.ts is a faithful copy of the spec scopes.json', () => {
    const spec = JSON.parse(readFileSync(SPEC_SCOPES, 'utf8')) as Record<string, unknown>
    expect(data.SCOPE_ACTIONS).toEqual(spec.actions)
    expect(data.SCOPE_OBJECTS).toEqual(spec.scope_objects)
    expect(data.INTERNAL_SCOPE_OBJECTS).toEqual(spec.internal_scope_objects)
    expect(data.OAUTH_HIDDEN_SCOPE_OBJECTS).toEqual(spec.oauth_hidden_scope_objects)
    expect(data.PRIVILEGED_SCOPES).toEqual(spec.privileged_scopes)
    expect(data.ALWAYS_ALLOWED_SCOPES).toEqual(spec.always_allowed_scopes)
    expect(data.WIZARD_APP_CEILING).toEqual(spec.wizard_app_ceiling_in_production)
    expect(data.HISTORIC_PROVISIONING_ALLOWLIST).toEqual(spec.historic_allowed_provisioning_scopes)
    const counts = spec.counts as Record<string, number>
    expect(data.SCOPE_COUNTS).toEqual({all: counts.all_scopes, unprivileged: counts.unprivileged_scopes, scopesSupported: counts.scopes_supported})
  })

  it('derives ALL (216), HIDDEN (6), UNPRIVILEGED (208) and scopes_supported (212) from the copied data', () => {
    expect(ALL_SCOPES).toHaveLength(SCOPE_COUNTS.all)
    expect(HIDDEN_SCOPES).toHaveLength(6)
    expect(UNPRIVILEGED_SCOPES).toHaveLength(SCOPE_COUNTS.unprivileged)
    expect(scopesSupported()).toHaveLength(SCOPE_COUNTS.scopesSupported)
  })

  it('orders scopes_supported: always-allowed first, then objects in declaration order, read before write', () => {
    const expected = [
      'openid',
      'profile',
      'email',
      'introspection',
      ...SCOPE_OBJECTS.filter((object) => !INTERNAL_SCOPE_OBJECTS.includes(object) && !OAUTH_HIDDEN_SCOPE_OBJECTS.includes(object)).flatMap((object) =>
        [`${object}:read`, `${object}:write`].filter((scope) => !PRIVILEGED_SCOPES.includes(scope)),
      ),
    ]
    expect(scopesSupported()).toEqual(expected)
    expect(scopesSupported().slice(0, 6)).toEqual(['openid', 'profile', 'email', 'introspection', 'action:read', 'action:write'])
  })

  it('never lists privileged, hidden or internal scopes, nor *', () => {
    const supported = scopesSupported()
    for (const scope of [...PRIVILEGED_SCOPES, ...HIDDEN_SCOPES, '*', 'internal_run:read', 'signal_scout_internal:write']) {
      expect(supported, scope).not.toContain(scope)
    }
  })

  it('empty ceiling -> every unprivileged scope', () => {
    expect(effectiveCeiling([])).toEqual(UNPRIVILEGED_SCOPES)
  })

  it('@default -> unprivileged plus the listed entries (the wizard ceiling holds privileged and hidden ones)', () => {
    const ceiling = effectiveCeiling(WIZARD_APP_CEILING)
    expect(ceiling).toHaveLength(UNPRIVILEGED_SCOPES.length + 3)
    expect(ceiling).toEqual(expect.arrayContaining(['llm_gateway:read', 'wizard_session:read', 'wizard_session:write', 'user:read']))
    expect(ceiling).not.toContain('llm_gateway:write')
    expect(ceiling).not.toContain('@default')
  })

  it('exhaustive ceiling -> exactly the listed scopes, a :write entry admitting its :read half', () => {
    expect(effectiveCeiling(['user:read', 'dashboard:write'])).toEqual(['user:read', 'dashboard:write', 'dashboard:read'])
    expect(effectiveCeiling(['user:read'])).not.toContain('user:write')
  })

  it('authorize: * passes under an empty ceiling only (legacy); reject refuses it, clamp expands it', () => {
    expect(decideAuthorizeScopes({requested: ['*'], ceiling: [], policy: 'reject'})).toEqual({ok: true, granted: ['*'], dropped: []})
    expect(decideAuthorizeScopes({requested: ['*'], ceiling: ['user:read'], policy: 'reject'})).toMatchObject({ok: false, missing: ['*']})
    expect(decideAuthorizeScopes({requested: ['*'], ceiling: ['user:read', 'project:write'], policy: 'clamp'})).toEqual({
      ok: true,
      granted: ['user:read', 'project:write', 'project:read'],
      dropped: [],
    })
  })

  it('authorize: missing = requested minus grantable; always-allowed scopes pass any ceiling', () => {
    const decision = decideAuthorizeScopes({requested: ['openid', 'user:read', 'insight:write', 'nope:read'], ceiling: ['user:read'], policy: 'reject'})
    expect(decision).toMatchObject({ok: false, missing: ['insight:write', 'nope:read'], grantable: ['user:read', 'openid', 'profile', 'email', 'introspection']})
  })

  it('provisioning ceiling: * is never allowed, always-allowed pass, write admits read', () => {
    expect(scopesOutsideProvisioningCeiling({scopes: ['*'], ceiling: []})).toEqual(['*'])
    expect(scopesOutsideProvisioningCeiling({scopes: ['openid', 'dashboard:read'], ceiling: ['dashboard:write']})).toEqual([])
    expect(scopesOutsideProvisioningCeiling({scopes: ['llm_gateway:write', 'user:read'], ceiling: WIZARD_APP_CEILING})).toEqual(['llm_gateway:write'])
  })

  it('refresh narrowing: keeps old AND ceiling plus always-allowed; unchanged under an empty ceiling or for *', () => {
    expect(narrowOnRefresh({scopes: ['openid', 'user:read', 'insight:write'], ceiling: ['user:read']})).toEqual({ok: true, scopes: ['openid', 'user:read'], lost: ['insight:write']})
    expect(narrowOnRefresh({scopes: ['user:read', 'llm_gateway:read'], ceiling: []})).toEqual({ok: true, scopes: ['user:read', 'llm_gateway:read'], lost: []})
    expect(narrowOnRefresh({scopes: ['*'], ceiling: ['user:read']})).toEqual({ok: true, scopes: ['*'], lost: []})
  })

  it('refresh narrowing: nothing left (or only always-allowed scopes left) is a failure; an openid-only token survives', () => {
    expect(narrowOnRefresh({scopes: ['insight:write'], ceiling: ['user:read']})).toEqual({ok: false, lost: ['insight:write']})
    expect(narrowOnRefresh({scopes: ['openid', 'insight:write'], ceiling: ['user:read']})).toEqual({ok: false, lost: ['insight:write']})
    expect(narrowOnRefresh({scopes: ['openid'], ceiling: ['user:read']})).toEqual({ok: true, scopes: ['openid'], lost: []})
  })

  it('resource checks: write implies read, * implies everything', () => {
    expect(tokenHasScope(['user:write'], 'user:read')).toBe(true)
    expect(tokenHasScope(['user:read'], 'user:write')).toBe(false)
    expect(tokenHasScope(['*'], 'user:read')).toBe(true)
    expect(tokenHasScope(['project:read'], 'user:read')).toBe(false)
  })
})
