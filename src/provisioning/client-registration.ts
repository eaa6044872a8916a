import {NetworkError} from '../errors.js'
import {describeFetchError, type Fetch} from '../http.js'
import {terminalSafe} from '../terminal-text.js'

/** Sent on every provisioning call: older servers require it (server.md section 4). */
export const PROVISIONING_API_VERSION = '0.1d'

export type ProvisioningCeiling =
  | {kind: 'ceiling'; scopes: string[]; provisioning: {active?: boolean; can_create_accounts?: boolean; can_provision_resources?: boolean}}
  | {kind: 'not-offered'; reason: string}

/**
 * Reads the app's provisioning ceiling (`POST /api/agentic/provisioning/client_registration`), so signup
 * can refuse out-of-ceiling scopes BEFORE an account exists (server.md section 5 item 4).
 */
export async function readProvisioningCeiling(http: Fetch, {issuer, clientId}: {issuer: string; clientId: string}): Promise<ProvisioningCeiling> {
  const url = `${issuer}/api/agentic/provisioning/client_registration`
  let response: Response
  try {
    response = await http(url, {
      method: 'POST',
      headers: {'content-type': 'application/json', accept: 'application/json', 'API-Version': PROVISIONING_API_VERSION},
      body: JSON.stringify({client_id: clientId}),
    })
  } catch (error) {
    throw new NetworkError(`Could not reach ${issuer} (${describeFetchError(error)}).`, {code: 'server_unreachable', cause: error})
  }
  if (response.status === 404 || response.status === 405) {
    return {kind: 'not-offered', reason: `the server has no provisioning API (HTTP ${response.status})`}
  }
  if (response.status >= 500 || response.status === 429) {
    throw new NetworkError(`${issuer} provisioning API is unavailable (HTTP ${response.status}); try again in a minute.`, {code: 'server_unavailable'})
  }
  const body = (await response.json().catch(() => undefined)) as
    | {scopes?: unknown; provisioning?: Record<string, boolean>; error?: {code?: string; message?: string}}
    | undefined
  if (!response.ok || !body || !Array.isArray(body.scopes)) {
    const message = typeof body?.error?.message === 'string' ? terminalSafe(body.error.message) : `HTTP ${response.status}`
    return {kind: 'not-offered', reason: `client registration failed: ${message}`}
  }
  return {kind: 'ceiling', scopes: body.scopes.filter((scope): scope is string => typeof scope === 'string'), provisioning: body.provisioning ?? {}}
}
