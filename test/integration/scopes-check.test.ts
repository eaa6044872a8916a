import {http, HttpResponse} from 'msw'
import {afterEach, describe, expect, it} from 'vitest'

import {checkScopes} from '../../src/flows/check-scopes.js'
import {renderScopeCheck} from '../../src/render/scopes.js'
import {startHarness, US_ISSUER, WIZARD_CLIENT_ID, type Harness} from '../support/harness.js'
import {schemaValidator} from '../support/schemas.js'

let harness: Harness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

describe('scopes --check', () => {
  it('is ok against the seeded wizard app', async () => {
    harness = await startHarness()
    const report = await checkScopes(harness.deps, {})
    expect(report).toMatchObject({issuer: US_ISSUER, client_id: WIZARD_CLIENT_ID, ok: true, confirmed: true, unconfirmed: [], advertised: 'listed'})
    expect(renderScopeCheck(report)).toMatch(/\nOK: every required scope can be granted/)
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

  it('says the check is NOT confirmed when the app\'s ceiling cannot be read (text and --json), and why', async () => {
    harness = await startHarness()
    harness.server.use(http.post(`${US_ISSUER}/api/agentic/provisioning/client_registration`, () => new HttpResponse(null, {status: 404})))
    const report = await checkScopes(harness.deps, {})
    expect(report).toMatchObject({ok: true, confirmed: false, ceiling: null, ceiling_source: null})
    expect(report.unconfirmed).toEqual([expect.stringMatching(/^the app's ceiling was not read: the server has no provisioning API \(HTTP 404\)/)])
    const validate = schemaValidator('scopes-check')
    expect(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors)).toBe(true)
    const text = renderScopeCheck(report)
    expect(text).toMatch(/NOT CONFIRMED: nothing found that .* would refuse, but part of the check could not run:\n {2}- the app's ceiling was not read: the server has no provisioning API \(HTTP 404\)/)
    expect(text).not.toMatch(/\nOK: every required scope can be granted/)
  })

  it('says so too when the server lists no scopes_supported', async () => {
    harness = await startHarness()
    const metadata = (await (await fetch(`${US_ISSUER}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>
    delete metadata.scopes_supported
    harness.server.use(http.get(`${US_ISSUER}/.well-known/oauth-authorization-server`, () => HttpResponse.json(metadata)))
    const report = await checkScopes(harness.deps, {})
    expect(report).toMatchObject({ok: true, advertised: 'absent', confirmed: false})
    expect(report.unconfirmed).toEqual([`${US_ISSUER} does not list scopes_supported, so whether it offers each scope was not checked`])
  })
})
