import {describe, expect, it} from 'vitest'

import {
  isNeverAdvertised,
  isWellFormedScope,
  LOGIN_SCOPES,
  neverAdvertisedReason,
  REQUIRED_LOGIN_SCOPES,
  REQUIRED_SIGNUP_SCOPES,
  SCOPES,
  SIGNUP_SCOPES,
} from '../../../src/scopes/constant.js'

// Pinned on purpose: adding or removing a scope must fail here and be a deliberate change.
const EXPECTED_SIGNUP = [
  'user:read',
  'project:read',
  'llm_gateway:read',
  'dashboard:write',
  'insight:write',
  'query:read',
  'notebook:write',
  'event_definition:write',
]
const EXPECTED_LOGIN = [...EXPECTED_SIGNUP, 'health_issue:read', 'wizard_session:read', 'wizard_session:write', 'organization:read']
const REQUIRED_MINIMUM = ['user:read', 'project:read', 'query:read', 'llm_gateway:read', 'dashboard:write', 'insight:write', 'event_definition:write']

describe('the scope constant', () => {
  it('derives exactly the pinned login list', () => {
    expect([...LOGIN_SCOPES]).toEqual(EXPECTED_LOGIN)
  })

  it('derives exactly the pinned signup list', () => {
    expect([...SIGNUP_SCOPES]).toEqual(EXPECTED_SIGNUP)
  })

  it('keeps signup a subset of login', () => {
    const notInLogin = SIGNUP_SCOPES.filter((scope) => !LOGIN_SCOPES.includes(scope))
    expect(notInLogin, `signup scopes missing from login: ${notInLogin.join(', ')}`).toEqual([])
  })

  it('has only well-formed entries: object:action with read|write, or a known OIDC scope', () => {
    const bad = SCOPES.map((entry) => entry.scope).filter((scope) => !isWellFormedScope(scope))
    expect(bad).toEqual([])
    expect(isWellFormedScope('user:delete')).toBe(false)
    expect(isWellFormedScope('User:read')).toBe(false)
    expect(isWellFormedScope('openid')).toBe(true)
  })

  it('has no duplicates', () => {
    const scopes = SCOPES.map((entry) => entry.scope)
    expect(new Set(scopes).size).toBe(scopes.length)
  })

  it('requires the minimum on both surfaces where listed', () => {
    for (const scope of REQUIRED_MINIMUM) {
      const entry = SCOPES.find((candidate) => candidate.scope === scope)
      expect(entry, `${scope} is missing from the constant`).toBeDefined()
      for (const surface of entry!.surfaces) expect(entry!.required, `${scope} must be required on ${surface}`).toContain(surface)
    }
    expect([...REQUIRED_SIGNUP_SCOPES].sort()).toEqual([...REQUIRED_MINIMUM].sort())
    expect([...REQUIRED_LOGIN_SCOPES].sort()).toEqual([...REQUIRED_MINIMUM].sort())
  })

  it('only marks a scope required on a surface that requests it', () => {
    for (const entry of SCOPES) for (const surface of entry.required) expect(entry.surfaces).toContain(surface)
  })

  it('says concretely what breaks without each scope', () => {
    for (const entry of SCOPES) expect(entry.why, entry.scope).toMatch(/without it/)
  })

  it('knows which scopes servers never advertise', () => {
    expect(neverAdvertisedReason('llm_gateway:read')).toBe('privileged')
    expect(neverAdvertisedReason('llm_gateway:write')).toBe('privileged')
    expect(neverAdvertisedReason('wizard_session:write')).toBe('hidden')
    expect(neverAdvertisedReason('query_performance:read')).toBe('hidden')
    expect(neverAdvertisedReason('batch_import_support:read')).toBe('hidden')
    expect(isNeverAdvertised('query:read')).toBe(false)
    expect(isNeverAdvertised('batch_import:read')).toBe(false)
  })
})
