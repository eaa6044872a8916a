import {describe, expect, it} from 'vitest'

import {ExitCode} from '../../src/errors.js'
import {status} from '../../src/flows/status.js'
import {harnessPerTest, US_ISSUER, WIZARD_CLIENT_ID, storedSessions} from '../support/harness.js'

const {loggedIn} = harnessPerTest()

describe('status', () => {
  it('describes every stored session', async () => {
    const h = await loggedIn()
    const result = await status(h.deps, {})
    expect(result.sessions).toHaveLength(1)
    expect(result.sessions[0]).toMatchObject({
      issuer: US_ISSUER,
      host: 'us.posthog.com',
      region: 'us',
      client_id: WIZARD_CLIENT_ID,
      user: {email: 'dev@example.com'},
      missing_required_scopes: [],
      state: 'valid',
      storage: {kind: 'file', location: expect.stringMatching(/credentials\.json$/)},
      source: 'store',
      verified: true,
      kind: 'oauth',
    })
    expect(Date.parse(result.sessions[0]!.expires_at!)).toBeGreaterThan(Date.now() + 3500_000)
  })

  it('exits 3 when there is no session for the selected host', async () => {
    const h = await loggedIn()
    await expect(status(h.deps, {region: 'eu'})).rejects.toMatchObject({exit: ExitCode.notLoggedIn})
    await expect(status(h.deps, {region: 'us'})).resolves.toMatchObject({sessions: [expect.objectContaining({region: 'us'})]})
  })

  it('shows the expired state and missing required scopes', async () => {
    const h = await loggedIn({policy: 'clamp'})
    const store = await h.deps.sessions()
    const [session] = await storedSessions(h.deps)
    await store.save({...session!, scope: session!.scope.filter((scope) => scope !== 'query:read')})
    h.advance(4000)
    const [described] = (await status(h.deps, {})).sessions
    expect(described).toMatchObject({state: 'expired', missing_required_scopes: ['query:read']})
  })
})
