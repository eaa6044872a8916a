import {request as httpRequest, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import type {Page} from 'playwright-core'
import type {isolatedHome} from './cli.js'
import {forFile, homePerTest} from './lifecycle.js'

/**
 * An independent, standards-compliant authorization server for cross-checks: panva's oidc-provider
 * (RFC 8414 metadata, RFC 7636 PKCE, RFC 9207 `iss`, RFC 7009 revocation, OIDC ID tokens, RFC 8628 device
 * flow when asked), with its development login and consent pages. Nothing here is shared with the project's mock.
 *
 * `strict` puts it behind a small proxy that behaves like the stricter server of issue 22 (written in C,
 * held out): a nonce required whenever `openid` is asked for, loopback redirects accepted only on the
 * registered ports (any other gets 403 with an empty body, RFC 8252 notwithstanding), revocation refused
 * without client authentication (401, empty body), and, once `refuseRefresh` is set, refreshes refused
 * with a bare 400 (no error body).
 */
export const INDEPENDENT_CLIENT_ID = 'onramp-independent'
export const INDEPENDENT_SCOPES = ['openid', 'offline_access', 'email', 'user:read', 'project:read']
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

export interface IndependentServerOptions {
  /** Enable oidc-provider's device flow (features.deviceFlow) and allow the client its grant type. */
  deviceFlow?: boolean
  /** Dynamic client registration (RFC 7591) open to anyone, as oidc-provider's features.registration. */
  registration?: boolean
  /** The stricter server: the loopback ports it accepts for the client's redirect. */
  strict?: {ports: number[]}
}

export interface IndependentServer {
  issuer: string
  /** Strict mode: refuse every refresh with a bare 400 from now on. */
  refuseRefresh: (on: boolean) => void
  /** Strict mode: what the proxy refused, e.g. `403 GET /auth` (for assertions). */
  refused: string[]
  close: () => Promise<void>
}

export async function startIndependentServer(options: IndependentServerOptions = {}): Promise<IndependentServer> {
  process.env.NODE_NO_WARNINGS ??= '1'
  const {default: Provider} = await import('oidc-provider')
  const {createServer} = await import('node:http')
  // Bind first: the issuer must carry the real port (the proxy's, in strict mode).
  const front: Server = createServer()
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(front.address() as AddressInfo).port}`
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: INDEPENDENT_CLIENT_ID,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token', ...(options.deviceFlow ? [DEVICE_CODE_GRANT] : [])],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback'],
      },
    ],
    scopes: INDEPENDENT_SCOPES,
    claims: {openid: ['sub'], email: ['email']},
    features: {
      devInteractions: {enabled: true},
      revocation: {enabled: true},
      ...(options.deviceFlow ? {deviceFlow: {enabled: true}} : {}),
      ...(options.registration ? {registration: {enabled: true}} : {}),
    },
    pkce: {required: () => true},
    findAccount: async (_ctx: unknown, id: string) => ({accountId: id, claims: async () => ({sub: id, email: `${id}@independent.example`})}),
    // Refresh tokens for native clients that asked for offline_access, without a forced consent prompt.
    issueRefreshToken: async (_ctx: unknown, client: {grantTypeAllowed: (grant: string) => boolean}, code: {scopes: Set<string>}) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  })
  provider.proxy = false
  const servers: Server[] = [front]
  let refuseRefresh = false
  const refused: string[] = []

  if (!options.strict) {
    front.on('request', provider.callback())
  } else {
    // oidc-provider on a port of its own; the front port answers as the issuer and forwards what it does not refuse.
    const back: Server = createServer(provider.callback())
    servers.push(back)
    await new Promise<void>((resolve) => back.listen(0, '127.0.0.1', resolve))
    const backPort = (back.address() as AddressInfo).port
    const ports = options.strict.ports
    front.on('request', (request: IncomingMessage, response: ServerResponse) => {
      void (async () => {
        const url = new URL(request.url ?? '/', issuer)
        const chunks: Buffer[] = []
        for await (const chunk of request) chunks.push(chunk as Buffer)
        const body = Buffer.concat(chunks)
        const refuse = (status: number) => {
          refused.push(`${status} ${request.method} ${url.pathname}`)
          response.writeHead(status, {'content-length': '0'})
          response.end()
        }
        if (request.method === 'GET' && url.pathname === '/auth') {
          const redirect = url.searchParams.get('redirect_uri')
          const port = redirect ? Number(new URL(redirect).port || 80) : undefined
          if (port !== undefined && !ports.includes(port)) return refuse(403)
          if ((url.searchParams.get('scope') ?? '').split(' ').includes('openid') && !url.searchParams.get('nonce')) {
            refused.push(`400 GET /auth (nonce)`)
            response.writeHead(400, {'content-type': 'application/json'})
            return response.end(JSON.stringify({error: 'invalid_request', error_description: 'nonce required'}))
          }
        }
        if (request.method === 'POST' && url.pathname === '/token/revocation') return refuse(401)
        if (request.method === 'POST' && url.pathname === '/token' && refuseRefresh && new URLSearchParams(body.toString()).get('grant_type') === 'refresh_token') return refuse(400)
        const forwarded = httpRequest({host: '127.0.0.1', port: backPort, method: request.method, path: request.url, headers: request.headers}, (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(response)
        })
        forwarded.on('error', () => refuse(502))
        forwarded.end(body)
      })()
    })
  }
  return {
    issuer,
    refuseRefresh: (on) => void (refuseRefresh = on),
    refused,
    close: async () => {
      for (const server of servers) {
        await new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        })
      }
    },
  }
}

export interface IndependentServerForFile {
  /** The server (started before the file's first test). */
  readonly server: IndependentServer
  /** This test's throwaway HOME and XDG folders. */
  readonly home: ReturnType<typeof isolatedHome>
  /** This test's environment for the built binary: its home and the server with its registered client, then `extra`. */
  env(extra?: Record<string, string>): Record<string, string>
}

/**
 * The set-up of the e2e tests against the independent server: one server for the file (`options`, or a
 * function giving them when the file's earlier beforeAll has what they need) and a fresh home per test.
 */
export function independentServerForFile(options: IndependentServerOptions | (() => IndependentServerOptions) = {}): IndependentServerForFile {
  const server = forFile('the independent server', () => startIndependentServer(typeof options === 'function' ? options() : options), (started) => started.close())
  const home = homePerTest()
  const fixture: IndependentServerForFile = {
    get server() {
      return server()
    },
    get home() {
      return home()
    },
    env: (extra = {}) => ({...fixture.home.env, ONRAMP_HOST: fixture.server.issuer, ONRAMP_CLIENT_ID: INDEPENDENT_CLIENT_ID, ...extra}),
  }
  return fixture
}

/** What login prints for a person at this server: its authorization URL, or with the device grant its verification URL (for loginInBrowser). */
export const INDEPENDENT_URL_PRINTED = /(http:\/\/127\.0\.0\.1:\d+\/(?:auth\?|device\?user_code=)\S+)/

/** oidc-provider's development pages: signs in as `account` (any password does), then consents. */
export async function signInAndConsent(page: Page, account: string): Promise<void> {
  await page.fill('input[name="login"]', account)
  await page.fill('input[name="password"]', 'any')
  await page.click('button[type="submit"]')
  await page.waitForSelector('button[type="submit"]')
  await page.click('button[type="submit"]') // consent
}

/** The redirect login's person: signs in as ada, consents, and waits for the redirect to onramp's loopback. */
export async function approveRedirect(page: Page): Promise<void> {
  await signInAndConsent(page, 'ada')
  await page.waitForURL(/127\.0\.0\.1:\d+\/callback\?/)
}
