import {readFileSync} from 'node:fs'
import path from 'node:path'

import type {Fetch} from '../http.js'
import type {Discovered} from './discovery.js'
import {UnexpectedError, UsageError} from '../errors.js'
import {writeFileAtomic} from '../fs-atomic.js'
import {assertPrivateDir, assertPrivateFile, assertStoredFileSize, ensurePrivateDir, MAX_STORED_FILE_BYTES} from '../fs-trust.js'
import {mapOAuthError, mapOAuthErrorInfo} from './errors.js'

/**
 * RFC 7591 dynamic client registration for custom hosts without --client-id, remembered per issuer
 * in `<config>/clients.json` so later logins reuse the client (and its redirect URI's port).
 */
export interface RegisteredClient {
  issuer: string
  client_id: string
  redirect_uri: string
  registered_at: string
  /**
   * What the registration answer granted (RFC 7591 section 3.2.1 `scope`): the ceiling of this client,
   * used by the preflight and `scopes --check`. Null when the server did not say (or the entry predates it).
   */
  scope?: string[] | null
}

type ClientsFile = {version: 1; clients: Record<string, RegisteredClient>}

export function clientsFile(configDir: string): string {
  return path.join(configDir, 'clients.json')
}

export function rememberedClient({configDir, issuer}: {configDir: string; issuer: string}): RegisteredClient | undefined {
  return readClients(configDir).clients[issuer]
}

export async function rememberClient(configDir: string, client: RegisteredClient): Promise<void> {
  const file = clientsFile(configDir)
  const data = readClients(configDir)
  data.clients[client.issuer] = client
  ensurePrivateDir(path.dirname(file))
  await writeFileAtomic(file, JSON.stringify(data, null, 2) + '\n')
}

function readClients(configDir: string): ClientsFile {
  // A remembered client others could write would steer the redirect URI: refused (fs-trust.ts).
  assertPrivateDir(configDir)
  if (!assertPrivateFile(clientsFile(configDir))) return {version: 1, clients: {}}
  assertStoredFileSize(clientsFile(configDir), MAX_STORED_FILE_BYTES.small, `Delete it (rm "${clientsFile(configDir)}"): onramp registers its client again at the next login.`)
  try {
    const data = JSON.parse(readFileSync(clientsFile(configDir), 'utf8')) as ClientsFile
    if (data && typeof data.clients === 'object') return data
  } catch {
    // missing or unreadable: register again, it only costs one request
  }
  return {version: 1, clients: {}}
}

/** RFC 7591 section 3.1: a public (token_endpoint_auth_method none) native client with our loopback redirect. */
export async function registerClient(
  {http, discovered, now}: {http: Fetch; discovered: Discovered; now: () => Date},
  {redirectUri, scopes, grantTypes = ['authorization_code', 'refresh_token']}: {redirectUri: string; scopes: readonly string[]; grantTypes?: readonly string[]},
): Promise<RegisteredClient> {
  const endpoint = discovered.metadata.registration_endpoint
  if (!endpoint) throw new UsageError(`${discovered.issuer} does not support dynamic client registration: pass --client-id.`, {code: 'client_id_required'})
  let response: Response
  try {
    response = await http(endpoint, {
      method: 'POST',
      headers: {'content-type': 'application/json', accept: 'application/json'},
      body: JSON.stringify({
        client_name: 'onramp CLI',
        redirect_uris: [redirectUri],
        grant_types: grantTypes,
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        application_type: 'native',
        scope: scopes.join(' '),
      }),
    })
  } catch (error) {
    throw mapOAuthError(error, {step: 'register', issuer: discovered.issuer})
  }
  const body = (await response.json().catch(() => ({}))) as {client_id?: unknown; scope?: unknown; error?: string; error_description?: string}
  if (response.status !== 201 && response.status !== 200) {
    throw mapOAuthErrorInfo(
      {error: body.error ?? `http_${response.status}`, description: body.error_description, status: response.status},
      {step: 'register', issuer: discovered.issuer},
    )
  }
  if (typeof body.client_id !== 'string' || !body.client_id) {
    throw new UnexpectedError(`${discovered.issuer} answered the registration without a client_id; pass --client-id.`, {code: 'register_failed'})
  }
  const scope = typeof body.scope === 'string' ? body.scope.split(/\s+/).filter(Boolean) : null
  return {issuer: discovered.issuer, client_id: body.client_id, redirect_uri: redirectUri, registered_at: now().toISOString(), scope}
}
