import type {Server} from 'node:http'

/**
 * An independent, standards-compliant authorization server for cross-checks: panva's oidc-provider
 * (RFC 8414 metadata, RFC 7636 PKCE, RFC 9207 `iss`, RFC 7009 revocation, OIDC ID tokens), with its
 * development login and consent pages. Nothing here is shared with the project's mock.
 */
export const INDEPENDENT_CLIENT_ID = 'onramp-independent'
export const INDEPENDENT_SCOPES = ['openid', 'offline_access', 'email', 'user:read', 'project:read']

export async function startIndependentServer(): Promise<{issuer: string; close: () => Promise<void>}> {
  process.env.NODE_NO_WARNINGS ??= '1'
  const {default: Provider} = await import('oidc-provider')
  const {createServer} = await import('node:http')
  // Bind first: the issuer must carry the real port.
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as {port: number}).port}`
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: INDEPENDENT_CLIENT_ID,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback'],
      },
    ],
    scopes: INDEPENDENT_SCOPES,
    claims: {openid: ['sub'], email: ['email']},
    features: {devInteractions: {enabled: true}, revocation: {enabled: true}},
    pkce: {required: () => true},
    findAccount: async (_ctx: unknown, id: string) => ({accountId: id, claims: async () => ({sub: id, email: `${id}@independent.example`})}),
    // Refresh tokens for native clients that asked for offline_access, without a forced consent prompt.
    issueRefreshToken: async (_ctx: unknown, client: {grantTypeAllowed: (grant: string) => boolean}, code: {scopes: Set<string>}) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  })
  provider.proxy = false
  server.on('request', provider.callback())
  return {
    issuer,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
