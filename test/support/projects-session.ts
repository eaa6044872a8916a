import {requestAccount} from '../../src/provisioning/account-requests.js'
import type {ProvisioningDeps} from '../../src/provisioning/api.js'
import {exchangeProvisioningCode, type ProvisioningGrant} from '../../src/provisioning/token.js'
import {expiresAt, type Session} from '../../src/session/session.js'
import {US_ISSUER, WIZARD_CLIENT_ID, type Harness} from './harness.js'

/** Scopes within the mock wizard app's ceiling: enough for the resource endpoints. */
export const PROJECT_TEST_SCOPES = ['user:read', 'project:read']

/**
 * A provisioning session as `onramp signup` stores it, made by running the signup protocol steps
 * directly (account request for a new email, code exchange) against the in-process mock.
 */
export async function storeProvisioningSession(h: Harness, {email = 'ci@example.com', save = true}: {email?: string; save?: boolean} = {}): Promise<{session: Session; grant: ProvisioningGrant}> {
  const deps: ProvisioningDeps = {http: h.deps.http, logger: h.deps.logger, now: h.deps.now}
  const account = await requestAccount(deps, {issuer: US_ISSUER, clientId: WIZARD_CLIENT_ID, email, scopes: PROJECT_TEST_SCOPES})
  if (account.type !== 'oauth') throw new Error(`expected a new account for ${email}, got ${account.type}`)
  const grant = await exchangeProvisioningCode(deps, {issuer: US_ISSUER, code: account.code, verifier: account.pkce.verifier})
  const now = h.deps.now()
  const session: Session = {
    issuer: US_ISSUER,
    client_id: WIZARD_CLIENT_ID,
    region: 'us',
    access_token: grant.access_token,
    refresh_token: grant.refresh_token,
    expires_at: expiresAt(now, grant.expires_in ?? undefined),
    scope: [...PROJECT_TEST_SCOPES],
    user: {email},
    obtained_at: now.toISOString(),
    kind: 'provisioning',
  }
  if (save) await (await h.deps.sessions()).save(session)
  return {session, grant}
}
