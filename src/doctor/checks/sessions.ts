import type {Fetch} from '../../http.js'
import {requiredScopesFor} from '../../scopes/constant.js'
import {discover} from '../../oauth/discovery.js'
import {getSameOrigin} from '../../oauth/user.js'
import {chooseFor, namedBy} from '../../flows/select-sessions.js'
import {ensureFresh} from '../../flows/refresh.js'
import {accountOf, isExpiring, REFRESH_MARGIN_SECONDS, type Session, requiredScopesOf} from '../../session/session.js'
import {envToken} from '../../session/env-token.js'
import type {SessionStore} from '../../session/store.js'
import {fail, loginCommand, ok, warn, type Check, type CheckResult, type DoctorContext} from '../types.js'

/**
 * sessions.<issuer>#<client id>: for each stored session (of the selected host, when one was named),
 * its expiry, missing required scopes, and whether the server still accepts it (a user-info call).
 * With --refresh the refresh token is spent once too, through the same path `onramp token` takes.
 * No token is ever part of a result.
 */
export const checkSessions: Check = async (ctx) => {
  const fromEnv = await checkEnvSession(ctx)
  return fromEnv ? [fromEnv, ...(await checkStored(ctx))] : checkStored(ctx)
}

/** sessions.env: ONRAMP_TOKEN, which `token` and `status` use as-is, asked of the selected server. */
async function checkEnvSession(ctx: DoctorContext): Promise<CheckResult | undefined> {
  const token = envToken(ctx.deps.env)
  if (!token) return undefined
  const id = 'sessions.env'
  const host = new URL(ctx.server.issuer).host
  if (ctx.findings.discovery && !ctx.findings.discovery.ok) {
    return warn('session', id, `ONRAMP_TOKEN not verified: ${host} did not answer`, 'fix server.discovery first, then run onramp doctor again')
  }
  const fake = {issuer: ctx.server.issuer, access_token: token, scope: [] as string[]}
  const verdict = await userInfo(ctx, fake)
  if (verdict.status === 401) return fail('session', id, `${host} does not accept ONRAMP_TOKEN (HTTP 401 from ${verdict.endpoint})`, 'replace ONRAMP_TOKEN with a valid token, or unset ONRAMP_TOKEN')
  if (verdict.status === 200) return ok('session', id, `${host} accepts ONRAMP_TOKEN (${verdict.endpoint})`)
  return warn('session', id, `ONRAMP_TOKEN not verified: ${verdict.endpoint} ${verdict.reason}`, 'check that ONRAMP_TOKEN belongs to this server (--host / --region)')
}

async function checkStored(ctx: DoctorContext): Promise<CheckResult[]> {
  const found = ctx.findings.store
  if (!found?.ok) return [warn('session', 'sessions', `not checked: ${found?.reason ?? 'no session store'} (see storage.backend)`, 'fix storage.backend first, then run onramp doctor again')]
  let sessions: Session[]
  try {
    sessions = await selected(ctx, found.store)
  } catch (error) {
    // Our store errors say what happened, then what to do: the first sentence is the evidence, the rest the fix.
    const [what, ...todo] = (error as Error).message.split('. ')
    return [fail('storage', 'sessions', what ?? 'the sessions cannot be read', (error as {nextCommand?: string}).nextCommand ?? (todo.join('. ') || 'run onramp login'))]
  }
  if (sessions.length === 0) {
    const command = loginCommand(ctx.server.issuer, ctx.server.region)
    return [warn('session', 'sessions', `no stored session${ctx.selection.host || ctx.selection.region ? ` for ${ctx.server.issuer}` : ''}`, command)]
  }
  const results: CheckResult[] = []
  for (const session of sessions) results.push(await checkOne(ctx, found.store, session))
  return results
}

async function selected(ctx: DoctorContext, store: SessionStore): Promise<Session[]> {
  const all = await store.list()
  // The sessions status shows: those a flag, variable or .onramp.json names, else all.
  const {choice} = await chooseFor(ctx.deps, ctx.selection, {sessions: all})
  const chosen = namedBy(choice, all)
  // list() holds no tokens: the server check needs them (from the keychain, maybe).
  const sessions: Session[] = []
  for (const info of chosen) {
    const session = await store.get(info)
    if (session) sessions.push(session)
  }
  return sessions
}

/** `sessions.<issuer>#<client id>#<account>`, `#signup` added for a provisioning session: one readable id per stored session. */
export function checkId(session: Pick<Session, 'issuer' | 'client_id' | 'kind' | 'user'>): string {
  return `sessions.${session.issuer}#${session.client_id}#${accountOf(session) ?? 'unknown'}${session.kind === 'provisioning' ? '#signup' : ''}`
}

async function checkOne(ctx: DoctorContext, store: SessionStore, stored: Session): Promise<CheckResult> {
  const judged: {session: Session} = {session: stored}
  const result = await judgeOne(ctx, store, judged)
  // A grant the server would not read back: its scopes are the ones requested, so "none missing" is a guess.
  const unverified = judged.session.unverified
  if (result.status !== 'ok' || !unverified) return result
  const relogin = loginCommand(stored.issuer, stored.region)
  return warn(
    'session',
    result.id,
    `${result.summary}; its scope check is NOT confirmed: the server did not confirm the grant (${unverified}), so its scopes are the ones requested`,
    `onramp doctor --refresh (a refresh reads the grant back where the server allows it), or ${stored.kind === 'provisioning' ? 'onramp signup' : relogin} again`,
  )
}

/** The verdict on one session; `judged.session` ends as the session judged (the refreshed one with --refresh). */
async function judgeOne(ctx: DoctorContext, store: SessionStore, judged: {session: Session}): Promise<CheckResult> {
  const stored = judged.session
  const id = checkId(stored)
  const host = new URL(stored.issuer).host
  const relogin = loginCommand(stored.issuer, stored.region)
  let session = stored
  let refreshed = ''
  if (ctx.refresh) {
    if (!stored.refresh_token) return fail('session', id, `${host}: --refresh asked, but this session has no refresh token`, relogin)
    // Whether the refresh request left this machine: after that, a failure is not "could not be tried".
    let sent = false
    const watching: Fetch = (input, init) => {
      const body = init?.body
      if ((init?.method ?? 'GET').toUpperCase() === 'POST' && String(body instanceof URLSearchParams ? body.toString() : body ?? '').includes('grant_type=refresh_token')) sent = true
      return ctx.deps.http(input, init)
    }
    try {
      // Presented as due, so ensureFresh really spends the refresh token: that is what --refresh asks to prove.
      const due = dueStore(store, ctx.deps.now())
      const fresh = await ensureFresh({...ctx.deps, http: watching}, {store: due, session: {...stored, expires_at: ctx.deps.now().toISOString()}})
      session = fresh.session
      judged.session = session
      refreshed = fresh.refreshed ? 'refreshed, ' : ''
    } catch (error) {
      const exit = (error as {exit?: number}).exit
      if (exit === 5 || exit === 3) return fail('session', id, `${host}: the refresh was refused: ${(error as Error).message.split('. ')[0]}`, relogin)
      if (sent) {
        return warn(
          'session',
          id,
          `${host}: the refresh was sent, but no usable answer came back: ${(error as Error).message.split('. ')[0]}`,
          `onramp token (the server may have rotated the refresh token: if it says the session expired, ${relogin})`,
        )
      }
      return warn('session', id, `${host}: the refresh could not be tried: ${(error as Error).message.split('. ')[0]}`, 'fix server.discovery or server.proxy, then onramp doctor --refresh')
    }
  }
  const now = ctx.deps.now()
  // Judged against what this session's login asked for (--scopes, or the built-in set).
  const missing = requiredScopesOf(session, requiredScopesFor(session.kind === 'provisioning' ? 'signup' : 'login')).filter((scope) => !session.scope.includes(scope))
  if (missing.length > 0) return fail('scope', id, `${host}: the session lacks required scopes ${missing.join(', ')}`, relogin)
  const expiry = session.expires_at ? `expires ${session.expires_at}` : 'no expiry known'
  if (isExpiring(session, now, 0)) {
    if (!session.refresh_token) return fail('session', id, `${host}: the access token expired (${session.expires_at}) and there is no refresh token`, relogin)
    return warn('session', id, `${host}: the access token expired (${session.expires_at}); not verified (onramp token refreshes it)`, 'onramp doctor --refresh (or onramp token) to refresh and verify it')
  }
  if (ctx.findings.discovery && !ctx.findings.discovery.ok && session.issuer === ctx.server.issuer) {
    return warn('session', id, `${host}: ${refreshed}${expiry}; not verified: the server did not answer`, 'fix server.discovery first, then run onramp doctor again')
  }
  const verdict = await userInfo(ctx, session)
  if (verdict.status === 401) return fail('session', id, `${host}: the server no longer accepts this session (HTTP 401 from ${verdict.endpoint})`, relogin)
  if (verdict.status === 200) return ok('session', id, `${host}: accepted by the server (${verdict.endpoint}), ${refreshed}${expiry}${isExpiring(session, now, REFRESH_MARGIN_SECONDS) ? ' (within a minute: the next onramp token refreshes it)' : ''}`)
  if (verdict.status === 403) return warn('session', id, `${host}: the token is valid, but ${verdict.endpoint} answered 403 (user:read missing?), ${expiry}`, relogin)
  return warn('session', id, `${host}: ${expiry}; not verified: ${verdict.endpoint} ${verdict.reason}`, 'run onramp doctor again; if it persists, check server.discovery')
}

/** The same store, with every session it returns presented as expiring now (for a forced refresh). */
function dueStore(store: SessionStore, now: Date): SessionStore {
  return Object.assign(Object.create(store) as SessionStore, {
    get: async (key: Parameters<SessionStore['get']>[0]) => {
      const session = await store.get(key)
      return session && {...session, expires_at: now.toISOString()}
    },
    save: (session: Session) => store.save(session),
    list: () => store.list(),
    delete: (key: Parameters<SessionStore['delete']>[0]) => store.delete(key),
  })
}

/** OIDC userinfo when the session holds `openid` and the server has the endpoint, else PostHog's /api/users/@me/. */
async function userInfo(ctx: DoctorContext, session: Pick<Session, 'issuer' | 'access_token' | 'scope'>): Promise<{status: number; endpoint: string; reason?: string}> {
  let endpoint = `${session.issuer}/api/users/@me/`
  if (session.scope.includes('openid')) {
    try {
      const {metadata} = await discover(ctx.deps, session.issuer)
      if (metadata.userinfo_endpoint) endpoint = metadata.userinfo_endpoint
    } catch {
      // fall back to @me
    }
  }
  const shown = new URL(endpoint).pathname
  try {
    // Redirects followed on the same origin only: a 200 from another host says nothing about this server
    // (and the token must not travel there).
    const response = await getSameOrigin(ctx.deps, endpoint, {authorization: `Bearer ${session.access_token}`, accept: 'application/json'})
    if (!response) return {status: 0, endpoint: shown, reason: 'redirected to another origin (or too many times), so the token was not sent there'}
    response.body?.cancel().catch(() => {})
    return {status: response.status, endpoint: shown, reason: `answered HTTP ${response.status}`}
  } catch (error) {
    return {status: 0, endpoint: shown, reason: `could not be reached (${(error as Error).message})`}
  }
}
