/**
 * HTTP plumbing shared by the handlers: the per-mock context, route matching on the mock's own origin
 * (so several mocks coexist and other traffic is left alone), body parsing and the error formats of
 * server.md (RFC 6749 JSON for OAuth, `{"type":"error","error":{...}}` for provisioning).
 */
import {http, type HttpHandler} from 'msw'

import type {DeviceGrant} from './device.js'
import type {IdTokenSigner} from './id-token.js'
import type {MockState} from './state.js'

export interface MockContext {
  state: MockState
  /** The issuer, without a trailing slash: every advertised URL starts with it. */
  issuer: string
  /** The issuer's path prefix ('' for an origin-only issuer); routes live below it. */
  basePath: string
  /** Served mode: match on the path alone, whatever Host the client used. */
  matchAnyOrigin: boolean
  signer: IdTokenSigner
  /** pathname -> methods served there, so a wrong method answers 405 rather than 404. */
  knownPaths: Map<string, Set<string>>
  /** A queued `after_handler` fault for this request (faults.ts): the handler ran, its answer is lost. */
  lateFault?: (request: Request, pathname: string) => Response | undefined
  /** The device authorization grant (device.ts): off unless the mock was started with it. */
  device?: DeviceGrant
}

export const CONTROL_PREFIX = '/__mock/'

/** Cloud hosts and their region (server.md section 1): they add posthog_region / posthog_base_url. */
const CLOUD_REGIONS: Record<string, 'us' | 'eu'> = {'https://us.posthog.com': 'us', 'https://eu.posthog.com': 'eu'}

export function cloudRegion(issuer: string): 'us' | 'eu' | undefined {
  return CLOUD_REGIONS[issuer]
}

/** `{posthog_region, posthog_base_url}` on Cloud, nothing elsewhere. */
export function cloudFields(issuer: string): Record<string, string> {
  const region = cloudRegion(issuer)
  return region ? {posthog_region: region, posthog_base_url: issuer} : {}
}

export function endpoint(ctx: MockContext, path: string): string {
  return `${ctx.issuer}${path}`
}

/** True when the request is addressed to this mock (its origin, below its base path). */
export function isForThisMock(ctx: MockContext, url: URL): boolean {
  if (!ctx.matchAnyOrigin && url.origin !== new URL(ctx.issuer).origin) return false
  return ctx.basePath === '' || url.pathname === ctx.basePath || url.pathname.startsWith(`${ctx.basePath}/`)
}

export function isControlPath(ctx: MockContext, url: URL): boolean {
  return url.pathname.startsWith(`${ctx.basePath}${CONTROL_PREFIX}`)
}

type Method = 'GET' | 'POST'
type Resolver = (args: {request: Request; url: URL}) => Response | Promise<Response>

/**
 * One route: exact pathname match below the issuer. `slash: 'optional'` accepts `/x` and `/x/` (the OAuth
 * endpoints, advertised with a slash); `'none'` only `/x` (provisioning: no trailing slashes).
 */
export function route(ctx: MockContext, method: Method, path: string, slash: 'optional' | 'none', resolver: Resolver): HttpHandler {
  const bare = `${ctx.basePath}${path.replace(/\/$/, '')}`
  const accepted = slash === 'optional' ? [bare, `${bare}/`] : [`${ctx.basePath}${path}`]
  for (const pathname of accepted) {
    const methods = ctx.knownPaths.get(pathname) ?? new Set<string>()
    methods.add(method)
    ctx.knownPaths.set(pathname, methods)
  }
  const matches = ({request}: {request: Request}): boolean => {
    const url = new URL(request.url)
    return isForThisMock(ctx, url) && accepted.includes(url.pathname)
  }
  const handle = async ({request}: {request: Request}) => {
    const url = new URL(request.url)
    const response = await resolver({request, url})
    return ctx.lateFault?.(request, url.pathname) ?? response
  }
  return method === 'GET' ? http.get(matches, handle) : http.post(matches, handle)
}

/** A route whose path has parameters (`/resources/{id}`): `pattern` is matched against the path below the base path. */
export function routePattern(ctx: MockContext, method: Method, pattern: RegExp, resolver: (args: {request: Request; url: URL; match: RegExpExecArray}) => Response | Promise<Response>): HttpHandler {
  const matchOf = (request: Request): RegExpExecArray | null => {
    const url = new URL(request.url)
    if (!isForThisMock(ctx, url)) return null
    return pattern.exec(url.pathname.slice(ctx.basePath.length))
  }
  const matches = ({request}: {request: Request}): boolean => request.method === method && matchOf(request) !== null
  const handle = async ({request}: {request: Request}) => {
    const url = new URL(request.url)
    const response = await resolver({request, url, match: matchOf(request)!})
    return ctx.lateFault?.(request, url.pathname) ?? response
  }
  return method === 'GET' ? http.get(matches, handle) : http.post(matches, handle)
}

/** The last handler: anything else on this origin is a 404 (or 405 on a known path), never real network. */
export function notFoundHandler(ctx: MockContext): HttpHandler {
  return http.all(
    ({request}) => isForThisMock(ctx, new URL(request.url)),
    ({request}) => {
      const url = new URL(request.url)
      const methods = ctx.knownPaths.get(url.pathname)
      if (methods) return json({detail: `Method "${request.method}" not allowed.`}, 405, {allow: [...methods].join(', ')})
      return json({detail: 'Not found.'}, 404)
    },
  )
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {status, headers: {'content-type': 'application/json', ...headers}})
}

/** RFC 6749 section 5.1: token responses must not be cached. */
export function tokenJson(body: unknown, status = 200): Response {
  return json(body, status, {'cache-control': 'no-store', pragma: 'no-cache'})
}

/** RFC 6749 section 5.2 error; 401 for invalid_client (with a WWW-Authenticate challenge). */
export function oauthError(error: string, description: string, status = 400, headers: Record<string, string> = {}): Response {
  const challenge: Record<string, string> = status === 401 ? {'www-authenticate': `Bearer error="${error}"`} : {}
  return json({error, error_description: description}, status, {'cache-control': 'no-store', ...challenge, ...headers})
}

/** The typed provisioning envelope (account_requests, client_registration; server.md section 4.1). */
export function provisioningError(code: string, message: string, status: number, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): Response {
  return json({type: 'error', ...extra, error: {code, message}}, status, headers)
}

/** The status envelope of the Bearer endpoints: `id` is the resource id, or "" (server.md section 4.1). */
export function statusError(code: string, message: string, status: number, id = '', headers: Record<string, string> = {}): Response {
  return json({status: 'error', id, error: {code, message}}, status, headers)
}

export function html(body: string, status = 200): Response {
  return new Response(body, {status, headers: {'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store'}})
}

export function redirect(location: string): Response {
  return new Response(null, {status: 302, headers: {location, 'cache-control': 'no-store'}})
}

/** Appends query parameters to a redirect URI, keeping any it already has (RFC 6749 section 4.1.2). */
export function withQuery(uri: string, params: Record<string, string | undefined>): string {
  const url = new URL(uri)
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value)
  return url.toString()
}

export type Body = {ok: true; params: Record<string, unknown>} | {ok: false; reason: string}

/** A form (application/x-www-form-urlencoded) or JSON object body; the token endpoints accept both. */
export async function readBody(request: Request): Promise<Body> {
  const text = await request.text()
  if ((request.headers.get('content-type') ?? '').includes('json')) {
    if (text.trim() === '') return {ok: true, params: {}}
    try {
      const parsed: unknown = JSON.parse(text)
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return {ok: true, params: parsed as Record<string, unknown>}
      return {ok: false, reason: 'The JSON body must be an object.'}
    } catch {
      return {ok: false, reason: 'The body is not valid JSON.'}
    }
  }
  return {ok: true, params: Object.fromEntries(new URLSearchParams(text))}
}

/** A string parameter, or undefined when absent, empty or not a string. */
export function stringParam(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name]
  return typeof value === 'string' && value !== '' ? value : undefined
}
