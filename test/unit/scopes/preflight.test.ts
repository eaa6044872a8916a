import {describe, expect, it} from 'vitest'

import {compareGrant, lostScopes, preflight, readAdvertisedScopes} from '../../../src/scopes/preflight.js'
import {ceilingAdmits} from '../../../src/scopes/ceiling.js'
import {LOGIN_SCOPES, REQUIRED_LOGIN_SCOPES} from '../../../src/scopes/constant.js'

const request = {surface: 'login' as const, scopes: LOGIN_SCOPES, required: REQUIRED_LOGIN_SCOPES}
const everythingAdvertised = LOGIN_SCOPES.filter((scope) => !scope.startsWith('llm_gateway') && !scope.startsWith('wizard_session'))

describe('readAdvertisedScopes', () => {
  it('tells listed, absent and malformed apart', () => {
    expect(readAdvertisedScopes({scopes_supported: ['a:read']})).toEqual({kind: 'listed', scopes: ['a:read']})
    expect(readAdvertisedScopes({})).toEqual({kind: 'absent'})
    expect(readAdvertisedScopes({scopes_supported: 'a:read b:read'})).toEqual({kind: 'malformed'})
    expect(readAdvertisedScopes({scopes_supported: ['a:read', 3]})).toEqual({kind: 'malformed'})
  })
})

describe('preflight', () => {
  it('passes when every scope is advertised or known to be unadvertised', () => {
    const plan = preflight(request, {kind: 'listed', scopes: everythingAdvertised})
    expect(plan.missingRequired).toEqual([])
    expect(plan.missingOptional).toEqual([])
    expect(plan.request).toEqual([...LOGIN_SCOPES])
    expect(plan.unadvertisedExpected).toEqual([
      {scope: 'llm_gateway:read', reason: 'privileged'},
      {scope: 'wizard_session:read', reason: 'hidden'},
      {scope: 'wizard_session:write', reason: 'hidden'},
    ])
  })

  it('stops on a required scope the server does not advertise (the drift bug)', () => {
    const advertised = everythingAdvertised.filter((scope) => scope !== 'dashboard:write' && scope !== 'insight:write')
    const plan = preflight(request, {kind: 'listed', scopes: advertised})
    expect(plan.missingRequired).toEqual(['dashboard:write', 'insight:write'])
  })

  it('drops a missing optional scope from the request', () => {
    const plan = preflight(request, {kind: 'listed', scopes: everythingAdvertised.filter((scope) => scope !== 'notebook:write')})
    expect(plan.missingOptional).toEqual(['notebook:write'])
    expect(plan.request).not.toContain('notebook:write')
    expect(plan.missingRequired).toEqual([])
  })

  it('skips the check when scopes_supported is absent or malformed', () => {
    expect(preflight(request, {kind: 'absent'})).toMatchObject({check: 'skipped-absent', missingRequired: [], request: [...LOGIN_SCOPES]})
    expect(preflight(request, {kind: 'malformed'})).toMatchObject({check: 'skipped-malformed', missingRequired: []})
  })

  it('never counts request-time scopes as missing', () => {
    const plan = preflight({surface: 'login', scopes: ['openid', 'offline_access', 'user:read'], required: ['openid', 'user:read']}, {kind: 'listed', scopes: ['user:read']})
    expect(plan.missingRequired).toEqual([])
  })
})

describe('compareGrant', () => {
  const plan = {request: ['user:read', 'project:read', 'notebook:write', 'openid'], required: ['user:read', 'project:read']}

  it('finds missing required and optional scopes', () => {
    expect(compareGrant(plan, 'user:read')).toMatchObject({missingRequired: ['project:read'], missingOptional: ['notebook:write'], assumed: false})
  })

  it('treats a response without scope as granted as requested (provisioning)', () => {
    expect(compareGrant(plan, undefined)).toEqual({granted: plan.request, missingRequired: [], missingOptional: [], assumed: true})
  })

  it('does not count openid missing when the server does not echo it', () => {
    expect(compareGrant(plan, 'user:read project:read notebook:write')).toMatchObject({missingRequired: [], missingOptional: []})
  })

  it('names what a refresh took away', () => {
    expect(lostScopes({before: ['user:read', 'dashboard:write', 'openid'], after: ['user:read']})).toEqual(['dashboard:write'])
  })
})

describe('ceilingAdmits (server.md section 2)', () => {
  it('reads an empty ceiling as every unprivileged scope', () => {
    expect(ceilingAdmits([], 'dashboard:write')).toBe(true)
    expect(ceilingAdmits([], 'llm_gateway:read')).toBe(false)
    expect(ceilingAdmits([], 'wizard_session:read')).toBe(false)
  })

  it('reads @default as unprivileged plus the listed entries', () => {
    const wizard = ['@default', 'llm_gateway:read', 'wizard_session:read', 'wizard_session:write']
    for (const scope of LOGIN_SCOPES) expect(ceilingAdmits(wizard, scope), scope).toBe(true)
    expect(ceilingAdmits(wizard, 'llm_gateway:write')).toBe(false)
  })

  it('reads any other ceiling as exhaustive, a write entry admitting its read half', () => {
    expect(ceilingAdmits(['insight:write'], 'insight:read')).toBe(true)
    expect(ceilingAdmits(['insight:read'], 'insight:write')).toBe(false)
    expect(ceilingAdmits(['insight:write'], 'dashboard:write')).toBe(false)
    expect(ceilingAdmits(['insight:write'], 'openid')).toBe(true)
    expect(ceilingAdmits(['insight:write'], '*')).toBe(false)
  })
})
