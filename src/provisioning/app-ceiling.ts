/**
 * `POST /api/agentic/provisioning/client_registration` (server.md 4.2): what this app may do through the
 * provisioning API, read BEFORE an account exists, so signup can refuse out-of-ceiling scopes or an app
 * that may not create accounts without stranding an account (server.md section 5 item 4).
 */
import {callProvisioning, provisioningUrl, type ProvisioningDeps} from './api.js'
import {serverText} from '../terminal-text.js'
import {readErrorEnvelope} from './errors.js'

export {PROVISIONING_API_VERSION} from './api.js'

/** Each flag as the server said it; null when the server did not say (older versions, the mock). */
export interface ProvisioningFlags {
  active: boolean | null
  can_create_accounts: boolean | null
  can_provision_resources: boolean | null
}

export interface ProvisioningCapabilities {
  account_requests: boolean | null
  github_grants: boolean | null
  wizard_runs: boolean | null
}

export interface RegistrationCheck {
  name: string
  ok: boolean
  detail: string | null
}

export type ProvisioningCeiling =
  | {
      kind: 'ceiling'
      client_id: string
      /** The ceiling as stored (`@default` and all); see ceilingAdmits() in src/scopes/ceiling.ts. */
      scopes: string[]
      provisioning: ProvisioningFlags
      capabilities: ProvisioningCapabilities
      checks: RegistrationCheck[]
    }
  /** 400 `registration_failed`: `message` is the first failed check, e.g. "No client is registered with this client_id". */
  | {kind: 'registration-failed'; reason: string; message: string; checks: RegistrationCheck[]}
  /** No provisioning API here (404/405), or an answer that cannot be read: the ceiling check is skipped. */
  | {kind: 'not-offered'; reason: string}

/** Reads the app's ceiling, provisioning flags and capabilities. 429 and 5xx throw NetworkError (exit 6). */
export async function readAppCeiling(deps: ProvisioningDeps, {issuer, clientId}: {issuer: string; clientId: string}): Promise<ProvisioningCeiling> {
  let answer
  try {
    answer = await callProvisioning(deps, {
      step: 'client_registration',
      issuer,
      url: provisioningUrl(issuer, '/api/agentic/provisioning/client_registration'),
      json: {client_id: clientId},
      accept: [400, 401, 403, 404, 405],
      context: {clientId},
    })
  } catch (error) {
    if ((error as {code?: unknown}).code === 'malformed_response') return {kind: 'not-offered', reason: 'the client_registration answer could not be read'}
    throw error
  }
  const {status, body} = answer
  if (status === 404 || status === 405) return {kind: 'not-offered', reason: `the server has no provisioning API (HTTP ${status})`}
  if (status !== 200) {
    const envelope = readErrorEnvelope(body)
    const message = envelope?.message || envelope?.code || `HTTP ${status}`
    return {kind: 'registration-failed', reason: `client registration failed: ${message}`, message, checks: readChecks(body.checks)}
  }
  if (!Array.isArray(body.scopes)) return {kind: 'not-offered', reason: 'client_registration answered without a scopes list'}
  const provisioning = objectOrEmpty(body.provisioning)
  const capabilities = objectOrEmpty(body.capabilities)
  return {
    kind: 'ceiling',
    client_id: typeof body.client_id === 'string' ? body.client_id : clientId,
    scopes: body.scopes.filter((scope): scope is string => typeof scope === 'string'),
    provisioning: {
      active: flag(provisioning.active),
      can_create_accounts: flag(provisioning.can_create_accounts),
      can_provision_resources: flag(provisioning.can_provision_resources),
    },
    capabilities: {
      account_requests: flag(capabilities.account_requests),
      github_grants: flag(capabilities.github_grants),
      wizard_runs: flag(capabilities.wizard_runs),
    },
    checks: readChecks(body.checks),
  }
}

function flag(value: unknown): boolean | null {
  return typeof value === 'boolean' ? value : null
}

function objectOrEmpty(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}

function readChecks(value: unknown): RegistrationCheck[] {
  if (!Array.isArray(value)) return []
  return value
    .filter((check): check is Record<string, unknown> => check !== null && typeof check === 'object')
    .map((check) => ({name: serverText(String(check.name ?? '')), ok: check.ok === true, detail: typeof check.detail === 'string' ? serverText(check.detail) : null}))
}
