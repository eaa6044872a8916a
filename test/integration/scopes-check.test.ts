import {afterEach, describe, expect, it} from 'vitest'

import {checkScopes} from '../../src/flows/check-scopes.js'
import {startHarness, US_ISSUER, WIZARD_CLIENT_ID, type Harness} from '../support/harness.js'

let harness: Harness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

describe('scopes --check', () => {
  it('is ok against the seeded wizard app', async () => {
    harness = await startHarness()
    const report = await checkScopes(harness.deps, {})
    expect(report).toMatchObject({issuer: US_ISSUER, client_id: WIZARD_CLIENT_ID, ok: true, advertised: 'listed'})
    expect(report.ceiling).toEqual(['@default', 'llm_gateway:read', 'wizard_session:read', 'wizard_session:write'])
    expect(report.surfaces.login.unadvertised_expected).toEqual(['llm_gateway:read', 'wizard_session:read', 'wizard_session:write'])
    expect(report.surfaces.signup).toMatchObject({missing_required: [], missing_optional: [], unadvertised_expected: ['llm_gateway:read'], outside_ceiling: [], ok: true})
  })

  it('fails when a required signup scope is outside the provisioning ceiling', async () => {
    harness = await startHarness()
    harness.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: ['user:read', 'project:read', 'query:read', 'insight:write', 'event_definition:write', 'llm_gateway:read']})
    const report = await checkScopes(harness.deps, {})
    expect(report.ok).toBe(false)
    expect(report.surfaces.signup.outside_ceiling).toEqual(['dashboard:write', 'notebook:write'])
  })

  it("reports the app's ceiling for login too: a ceiling narrowed to user:read project:read fails both surfaces", async () => {
    harness = await startHarness()
    harness.mock.control.upsertApp({client_id: WIZARD_CLIENT_ID, scopes: ['user:read', 'project:read']})
    const report = await checkScopes(harness.deps, {})
    expect(report.ok).toBe(false)
    expect(report.surfaces.login.ok).toBe(false)
    expect(report.surfaces.login.outside_ceiling).toEqual(expect.arrayContaining(['llm_gateway:read', 'dashboard:write', 'insight:write', 'query:read', 'event_definition:write', 'notebook:write']))
    expect(report.surfaces.login.outside_ceiling).not.toContain('user:read')
    expect(report.surfaces.signup.ok).toBe(false)
  })
})
