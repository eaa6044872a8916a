/**
 * The device authorization grant (RFC 8628), which PostHog does not offer (server.md: "not built yet"):
 * off by default, on with `createMockServer({deviceGrant: true})` or `npm run mock-server -- --device-grant`,
 * so the CLI's `login --device` has a server to talk to. When on, the metadata advertises
 * `device_authorization_endpoint` and the grant type; `/oauth/device_authorization` issues codes;
 * `/oauth/token` answers `grant_type=urn:ietf:params:oauth:grant-type:device_code` per section 3.5; `/device`
 * is the verification page a person approves on. The control surface approves, denies, slows down and
 * expires a pending code as a test needs.
 */
import {randomBytes, randomInt} from 'node:crypto'

import {http, type HttpHandler} from 'msw'

import {escapeHtml, renderErrorPage} from './consent-page.js'
import {endpoint, html, isForThisMock, json, oauthError, readBody, redirect, route, stringParam, tokenJson, withQuery, type MockContext} from './http.js'
import {requestClientId, tokenResponse} from './oauth.js'
import {decideAuthorizeScopes, formatScopes, parseScopeParameter} from './scopes.js'
import {findApp, findUser, recordEvent} from './state.js'
import {issueTokenPair} from './tokens.js'

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
export const DEVICE_AUTHORIZATION_PATH = '/oauth/device_authorization/'
export const DEVICE_VERIFICATION_PATH = '/device'

/** RFC 8628 section 6.1: 20 consonants, no vowels (no words), shown as XXXX-XXXX. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'

export interface DeviceSettings {
  enabled: boolean
  /** Seconds between polls the server asks for (RFC 8628 default 5; the mock's 1 keeps tests quick). */
  interval: number
  /** Lifetime of a device code in seconds. */
  expires_in: number
}

export type DeviceCodeStatus = 'pending' | 'approved' | 'denied' | 'used'

export interface DeviceCode {
  device_code: string
  user_code: string
  client_id: string
  scopes: string[]
  status: DeviceCodeStatus
  /** The account that approved it. */
  user_email: string | undefined
  issued_at: number
  expires_at: number
  /** Current polling interval in seconds (each slow_down adds 5, RFC 8628 section 3.5). */
  interval: number
  /** Polls answered with slow_down on purpose (control `slow_down`), still to come. */
  slow_downs_queued: number
  polls: number
  /** The mock's clock at each poll (ms), to check the client's pace. */
  poll_times: number[]
  /** What each poll was answered, in order (authorization_pending, slow_down, ..., or "tokens"). */
  answers: string[]
}

export interface DeviceCodeView extends Omit<DeviceCode, 'device_code'> {
  verification_uri_complete: string
}

export interface DeviceGrantInput {
  /** `{enabled?, interval?, expires_in?}`; answers the new settings. */
  settings?: Partial<DeviceSettings>
}

/** Control of the grant; every code-taking operation defaults to the only pending code. */
export interface DeviceControl {
  settings(input?: Partial<DeviceSettings>): DeviceSettings
  codes(): DeviceCodeView[]
  approve(input?: {user_code?: string; email?: string}): DeviceCodeView
  deny(input?: {user_code?: string}): DeviceCodeView
  /** The next `count` (default 1) polls are answered slow_down, each adding 5 s to the interval. */
  slowDown(input?: {user_code?: string; count?: number}): DeviceCodeView
  /** The code expires now: the next poll is expired_token. */
  expire(input?: {user_code?: string}): DeviceCodeView
  reset(): void
}

export interface DeviceGrant {
  handlers: HttpHandler[]
  control: DeviceControl
  /** Whether the grant is offered now (the option, or control `settings`). */
  enabled(): boolean
}

export class DeviceControlError extends Error {}

export function defaultDeviceSettings(option: boolean | Partial<DeviceSettings> | undefined): DeviceSettings {
  const given = typeof option === 'object' ? option : {enabled: option ?? false}
  return {enabled: given.enabled ?? true, interval: given.interval ?? 1, expires_in: given.expires_in ?? 600}
}

function randomUserCode(): string {
  let code = ''
  for (let index = 0; index < 8; index += 1) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]
  return `${code.slice(0, 4)}-${code.slice(4)}`
}

/** What a person types: case and dashes or spaces do not matter (RFC 8628 section 6.1). */
function normalizeUserCode(value: string): string {
  return value.toUpperCase().replace(/[^A-Z]/g, '')
}

export function createDeviceGrant(ctx: MockContext, option: boolean | Partial<DeviceSettings> | undefined): DeviceGrant {
  const initial = defaultDeviceSettings(option)
  let settings = {...initial}
  const codes = new Map<string, DeviceCode>()
  const now = () => ctx.state.now()

  const completeUri = (code: DeviceCode) => withQuery(endpoint(ctx, DEVICE_VERIFICATION_PATH), {user_code: code.user_code})
  const view = (code: DeviceCode): DeviceCodeView => {
    const {device_code: _secret, ...rest} = structuredClone(code)
    return {...rest, verification_uri_complete: completeUri(code)}
  }
  const byUserCode = (userCode: string | undefined): DeviceCode | undefined =>
    userCode === undefined ? undefined : [...codes.values()].find((code) => normalizeUserCode(code.user_code) === normalizeUserCode(userCode))
  const pick = (userCode: unknown): DeviceCode => {
    if (userCode !== undefined && typeof userCode !== 'string') throw new DeviceControlError('user_code must be a string')
    if (userCode) {
      const code = byUserCode(userCode)
      if (!code) throw new DeviceControlError(`no device code with user_code ${userCode}`)
      return code
    }
    const pending = [...codes.values()].filter((code) => code.status === 'pending' && code.expires_at > now())
    if (pending.length !== 1) throw new DeviceControlError(`user_code is required: ${pending.length} codes are pending`)
    return pending[0]!
  }
  const decide = (code: DeviceCode, decision: 'approved' | 'denied', email?: string): void => {
    if (code.status !== 'pending') throw new DeviceControlError(`the code ${code.user_code} is ${code.status}, not pending`)
    if (code.expires_at <= now()) throw new DeviceControlError(`the code ${code.user_code} has expired`)
    const userEmail = email ?? ctx.state.browserUserEmail
    if (decision === 'approved' && !findUser(ctx.state, userEmail)) throw new DeviceControlError(`no user ${userEmail}`)
    code.status = decision
    code.user_email = decision === 'approved' ? userEmail : undefined
    recordEvent(ctx.state, `oauth.device.${decision}`, 'info', {client_id: code.client_id, user_code: code.user_code})
  }

  const control: DeviceControl = {
    settings(input = {}) {
      if (input.enabled !== undefined) {
        if (typeof input.enabled !== 'boolean') throw new DeviceControlError('enabled must be true or false')
        settings.enabled = input.enabled
      }
      for (const field of ['interval', 'expires_in'] as const) {
        const value = input[field]
        if (value === undefined) continue
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new DeviceControlError(`${field} must be a whole number of seconds >= 1`)
        settings[field] = value
      }
      return {...settings}
    },
    codes: () => [...codes.values()].map(view),
    approve(input = {}) {
      const code = pick(input.user_code)
      decide(code, 'approved', input.email)
      return view(code)
    },
    deny(input = {}) {
      const code = pick(input.user_code)
      decide(code, 'denied')
      return view(code)
    },
    slowDown(input = {}) {
      const code = pick(input.user_code)
      const count = input.count ?? 1
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) throw new DeviceControlError('count must be a whole number >= 1')
      code.slow_downs_queued += count
      return view(code)
    },
    expire(input = {}) {
      const code = pick(input.user_code)
      code.expires_at = Math.min(code.expires_at, now())
      return view(code)
    },
    reset() {
      codes.clear()
      settings = {...initial}
    },
  }

  /** Section 3.1/3.2: the client asks for a code. Public clients identify with client_id. */
  async function handleDeviceAuthorization(request: Request): Promise<Response> {
    const body = await readBody(request)
    if (!body.ok) return oauthError('invalid_request', body.reason)
    const app = findApp(ctx.state, requestClientId(request, body.params))
    if (!app) return oauthError('invalid_client', 'Client authentication failed.', 401)
    const requested = parseScopeParameter(stringParam(body.params, 'scope'))
    const decision = decideAuthorizeScopes({requested, ceiling: app.scopes, policy: ctx.state.config.policy})
    if (!decision.ok) {
      recordEvent(ctx.state, 'oauth.device.invalid_scope', 'warn', {client_id: app.client_id, missing_scopes: decision.missing})
      return oauthError('invalid_scope', `The requested scopes are not allowed for this application: ${formatScopes(decision.missing)}`)
    }
    const code: DeviceCode = {
      device_code: randomBytes(32).toString('base64url'),
      user_code: randomUserCode(),
      client_id: app.client_id,
      scopes: decision.granted,
      status: 'pending',
      user_email: undefined,
      issued_at: now(),
      expires_at: now() + settings.expires_in * 1000,
      interval: settings.interval,
      slow_downs_queued: 0,
      polls: 0,
      poll_times: [],
      answers: [],
    }
    codes.set(code.device_code, code)
    recordEvent(ctx.state, 'oauth.device.code_issued', 'info', {client_id: app.client_id, scopes: code.scopes})
    return tokenJson({
      device_code: code.device_code,
      user_code: code.user_code,
      verification_uri: endpoint(ctx, DEVICE_VERIFICATION_PATH),
      verification_uri_complete: completeUri(code),
      expires_in: settings.expires_in,
      interval: code.interval,
    })
  }

  /** Section 3.4/3.5: the client polls the token endpoint. */
  function poll(request: Request, params: Record<string, unknown>): Response {
    const app = findApp(ctx.state, requestClientId(request, params))
    if (!app) return oauthError('invalid_client', 'Client authentication failed.', 401)
    const value = stringParam(params, 'device_code')
    if (!value) return oauthError('invalid_request', 'Missing device_code parameter.')
    const code = codes.get(value)
    if (!code || code.client_id !== app.client_id) return oauthError('invalid_grant', 'Invalid device code.')
    const previous = code.poll_times.at(-1)
    code.polls += 1
    code.poll_times.push(now())
    const answer = (error: string, description: string): Response => {
      code.answers.push(error)
      return oauthError(error, description)
    }
    if (code.status === 'used') return answer('invalid_grant', 'The device code has already been used.')
    if (code.expires_at <= now()) return answer('expired_token', 'The device code has expired.')
    if (code.status === 'denied') return answer('access_denied', 'The user denied the request.')
    // A client polling faster than the interval (a little timer slack allowed) is told to slow down.
    const tooSoon = previous !== undefined && now() - previous < code.interval * 1000 - 250
    if (code.slow_downs_queued > 0 || tooSoon) {
      if (code.slow_downs_queued > 0) code.slow_downs_queued -= 1
      code.interval += 5
      return answer('slow_down', `Polling too fast; wait ${code.interval} seconds between requests.`)
    }
    if (code.status === 'pending') return answer('authorization_pending', 'The user has not approved the request yet.')
    const user = findUser(ctx.state, code.user_email)
    if (!user) return answer('invalid_grant', 'Invalid device code.')
    code.status = 'used'
    code.answers.push('tokens')
    const pair = issueTokenPair(ctx.state, {surface: 'oauth', client_id: app.client_id, user_email: user.email, scopes: code.scopes})
    recordEvent(ctx.state, 'oauth.device.tokens_issued', 'info', {client_id: app.client_id, scopes: code.scopes})
    return tokenResponse(ctx, {pair, user})
  }

  const pathIs = (request: Request, path: string): boolean => {
    const url = new URL(request.url)
    const bare = `${ctx.basePath}${path.replace(/\/$/, '')}`
    return isForThisMock(ctx, url) && (url.pathname === bare || url.pathname === `${bare}/`)
  }

  /** The verification page: enter (or confirm) the user code, then Authorize or Deny as the signed-in user. */
  function verificationPage(url: URL, message?: string): Response {
    const userCode = url.searchParams.get('user_code') ?? ''
    const code = userCode ? byUserCode(userCode) : undefined
    const action = endpoint(ctx, DEVICE_VERIFICATION_PATH)
    if (!ctx.state.config.signed_in) return redirect(withQuery(endpoint(ctx, '/login'), {next: `${url.pathname}${url.search}`}))
    const app = code ? findApp(ctx.state, code.client_id) : undefined
    const scopes = code ? code.scopes.map((scope) => `    <li><code>${escapeHtml(scope)}</code></li>`).join('\n') : ''
    const body = code
      ? `<h1>Authorize ${escapeHtml(app?.name ?? code.client_id)}</h1>
<p>Signed in as <strong id="user">${escapeHtml(ctx.state.browserUserEmail)}</strong>. Check that this code matches the one on your device:</p>
<p id="user-code"><strong>${escapeHtml(code.user_code)}</strong></p>
<ul id="scopes">
${scopes}
</ul>
<form id="consent" method="post" action="${escapeHtml(action)}">
  <input type="hidden" name="user_code" value="${escapeHtml(code.user_code)}">
  <button type="submit" name="decision" value="allow" id="authorize">Authorize</button>
  <button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>`
      : `<h1>Connect a device</h1>
<form id="enter-code" method="get" action="${escapeHtml(action)}">
  <label for="user_code">Enter the code shown on your device</label>
  <input type="text" name="user_code" id="user_code" value="">
  <button type="submit" id="continue">Continue</button>
</form>`
    return html(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Device login</title></head>
<body>
<main>
${message ? `<p id="error">${escapeHtml(message)}</p>\n` : ''}${body}
</main>
</body>
</html>
`)
  }

  const handlers: HttpHandler[] = [
    http.post(
      ({request}) => settings.enabled && pathIs(request, DEVICE_AUTHORIZATION_PATH),
      ({request}) => handleDeviceAuthorization(request),
    ),
    // Before the token endpoint of oauth.ts: only the device_code grant is answered here, anything else falls through.
    http.post(
      ({request}) => settings.enabled && pathIs(request, '/oauth/token/'),
      async ({request}) => {
        const body = await readBody(request)
        if (!body.ok || stringParam(body.params, 'grant_type') !== DEVICE_CODE_GRANT) return undefined
        return poll(request, body.params)
      },
    ),
    http.get(
      ({request}) => settings.enabled && pathIs(request, DEVICE_VERIFICATION_PATH),
      ({request}) => {
        const url = new URL(request.url)
        const userCode = url.searchParams.get('user_code')
        if (userCode && !byUserCode(userCode)) return verificationPage(new URL(url.pathname, url), `Unknown code ${userCode}; check it and try again.`)
        return verificationPage(url)
      },
    ),
    http.post(
      ({request}) => settings.enabled && pathIs(request, DEVICE_VERIFICATION_PATH),
      async ({request}) => {
        const body = await readBody(request)
        const code = body.ok ? byUserCode(stringParam(body.params, 'user_code')) : undefined
        if (!body.ok || !code) return html(renderErrorPage({title: 'Invalid request', message: 'Unknown device code.'}), 400)
        if (code.status !== 'pending' || code.expires_at <= now()) {
          return html(renderErrorPage({title: 'Code no longer valid', message: `The code ${code.user_code} has expired or was already used.`}), 400)
        }
        const allow = stringParam(body.params, 'decision') === 'allow'
        decide(code, allow ? 'approved' : 'denied')
        return html(renderErrorPage({title: allow ? 'Device connected' : 'Request denied', message: allow ? 'You can return to your device.' : 'The device was not connected.'}))
      },
    ),
  ]

  return {
    handlers,
    control,
    enabled: () => settings.enabled,
  }
}

/** RFC 8628 section 4: the metadata of a server that offers the grant (nothing when it is off). */
export function deviceMetadata(ctx: MockContext, grantTypes: readonly string[]): {device_authorization_endpoint?: string; grant_types_supported: string[]} {
  if (!ctx.device?.enabled()) return {grant_types_supported: [...grantTypes]}
  return {device_authorization_endpoint: endpoint(ctx, DEVICE_AUTHORIZATION_PATH), grant_types_supported: [...grantTypes, DEVICE_CODE_GRANT]}
}

/** `/__mock/device*`: settings and the pending codes (GET), and the four decisions a test makes. */
export function deviceControlHandlers(
  ctx: MockContext,
  control: DeviceControl,
  post: (path: string, operation: (body: Record<string, unknown>) => unknown) => HttpHandler,
): HttpHandler[] {
  return [
    route(ctx, 'GET', '/__mock/device', 'optional', () => json({settings: control.settings(), codes: control.codes()})),
    post('device', (body) => ({settings: control.settings(body as Partial<DeviceSettings>)})),
    post('device/approve', (body) => control.approve(body as {user_code?: string; email?: string})),
    post('device/deny', (body) => control.deny(body as {user_code?: string})),
    post('device/slow-down', (body) => control.slowDown(body as {user_code?: string; count?: number})),
    post('device/expire', (body) => control.expire(body as {user_code?: string})),
  ]
}
