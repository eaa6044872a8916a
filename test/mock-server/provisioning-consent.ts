/**
 * Consent for existing users (server.md section 4, [AZ]): `GET /api/agentic/authorize?state=` sends the
 * signed-in browser to the consent page `/agentic/authorize?state=` (or `?error=…`); the page reads
 * `GET /api/agentic/authorize/pending/` and confirms with `POST /api/agentic/authorize/confirm/`
 * `{state, team_id}`, which answers `{redirect_url: "<FIRST redirect_uri>?code=…&state=…"}`.
 * Mock-only additions (the spec has none): `POST /api/agentic/authorize/deny/` (`error=access_denied`,
 * unverified upstream) and `POST /agentic/authorize`, the page's no-script form, which redirects.
 */
import type {HttpHandler} from 'msw'

import {renderErrorPage, renderProvisioningConsentPage} from './consent-page.js'
import {endpoint, html, json, readBody, redirect, route, stringParam, withQuery, type MockContext} from './http.js'
import {AUTHORIZE_PATH} from './provisioning-accounts.js'
import {findApp, findUser, recordEvent, type OAuthApp, type PendingConsent, type User} from './state.js'
import {createCode} from './tokens.js'

const PAGE_PATH = '/agentic/authorize'
const PENDING_PATH = '/api/agentic/authorize/pending/'
const CONFIRM_PATH = '/api/agentic/authorize/confirm/'
const DENY_PATH = '/api/agentic/authorize/deny/'

type ConsentError = 'missing_state' | 'expired_or_invalid_state' | 'no_organization' | 'partner_deactivated' | 'missing_callback'

const ERROR_MESSAGES: Record<ConsentError, string> = {
  missing_state: 'This authorization link has no state.',
  expired_or_invalid_state: 'This authorization link is invalid, already used or expired. Start the signup again.',
  no_organization: 'Your account has no organization.',
  partner_deactivated: 'This application is no longer allowed to provision accounts.',
  missing_callback: 'This application has no redirect URI to return to.',
}

interface Pending {
  consent: PendingConsent
  app: OAuthApp
  user: User
  redirectUri: string
}

/** The pending consent behind a state, or the page's error code. Pending state lives 600 s. */
function resolvePending(ctx: MockContext, state: string | undefined): Pending | ConsentError {
  if (!state) return 'missing_state'
  const consent = ctx.state.consents.get(state)
  if (!consent || ctx.state.now() >= consent.expires_at) return 'expired_or_invalid_state'
  const app = findApp(ctx.state, consent.client_id)
  if (!app || app.blocked || !app.provisioning.active) return 'partner_deactivated'
  const redirectUri = app.redirect_uris[0]
  if (!redirectUri) return 'missing_callback'
  const user = findUser(ctx.state, consent.user_email)
  if (!user || user.teams.length === 0) return 'no_organization'
  return {consent, app, user, redirectUri}
}

/** Confirm: a code for the chosen team, to the app's FIRST redirect URI, with the state of the consent URL. */
function confirm(ctx: MockContext, pending: Pending, teamId: number): string {
  ctx.state.consents.delete(pending.consent.state)
  const code = createCode(ctx.state, {
    surface: 'provisioning',
    client_id: pending.app.client_id,
    user_email: pending.user.email,
    scopes: pending.consent.scopes,
    code_challenge: pending.consent.code_challenge,
    scoped_teams: [teamId],
  })
  recordEvent(ctx.state, 'provisioning.consent_approved', 'info', {client_id: pending.app.client_id, team_id: teamId})
  return withQuery(pending.redirectUri, {code: code.code, state: pending.consent.state})
}

function deny(ctx: MockContext, pending: Pending): string {
  ctx.state.consents.delete(pending.consent.state)
  recordEvent(ctx.state, 'provisioning.consent_denied', 'info', {client_id: pending.app.client_id})
  return withQuery(pending.redirectUri, {error: 'access_denied', state: pending.consent.state})
}

/** team_id absent -> the user's first team; one that is not theirs -> undefined. */
function chosenTeam(pending: Pending, value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return pending.user.teams[0]?.id
  const teamId = Number(value)
  return pending.user.teams.some((team) => team.id === teamId) ? teamId : undefined
}

const apiError = (code: string, detail: string, status = 400): Response => json({error: code, detail}, status)
const NOT_SIGNED_IN = (): Response => json({detail: 'Authentication credentials were not provided.'}, 401)

function pageUrl(ctx: MockContext, params: Record<string, string>): string {
  return withQuery(endpoint(ctx, PAGE_PATH), params)
}

export function consentHandlers(ctx: MockContext): HttpHandler[] {
  const {state} = ctx
  return [
    // Login required; then to the consent page (or straight back with a code when auto-approving).
    route(ctx, 'GET', AUTHORIZE_PATH, 'none', ({url}) => {
      if (!state.config.signed_in) return redirect(withQuery(endpoint(ctx, '/login'), {next: `${url.pathname}${url.search}`}))
      const pending = resolvePending(ctx, url.searchParams.get('state') ?? undefined)
      if (typeof pending === 'string') return redirect(pageUrl(ctx, {error: pending}))
      if (state.config.auto_approve) return redirect(confirm(ctx, pending, pending.user.teams[0]!.id))
      return redirect(pageUrl(ctx, {state: pending.consent.state}))
    }),

    route(ctx, 'GET', PAGE_PATH, 'none', ({url}) => {
      const error = url.searchParams.get('error')
      const pending = error ? (error as ConsentError) : resolvePending(ctx, url.searchParams.get('state') ?? undefined)
      if (typeof pending === 'string') {
        return html(renderErrorPage({title: 'Authorization failed', message: ERROR_MESSAGES[pending] ?? error ?? pending}).replace('<p id="error">', `<p id="error" data-error="${pending}">`))
      }
      return html(
        renderProvisioningConsentPage({
          appName: pending.app.name,
          // The mock's browser session belongs to the account being authorized.
          userEmail: pending.user.email,
          scopes: pending.consent.scopes,
          state: pending.consent.state,
          teams: pending.user.teams,
          formAction: endpoint(ctx, PAGE_PATH),
          pendingUrl: endpoint(ctx, PENDING_PATH),
          confirmUrl: endpoint(ctx, CONFIRM_PATH),
          denyUrl: endpoint(ctx, DENY_PATH),
        }),
      )
    }),

    route(ctx, 'GET', PENDING_PATH, 'none', ({url}) => {
      if (!state.config.signed_in) return NOT_SIGNED_IN()
      const pending = resolvePending(ctx, url.searchParams.get('state') ?? undefined)
      if (typeof pending === 'string') return apiError(pending, ERROR_MESSAGES[pending])
      return json({
        state: pending.consent.state,
        client_id: pending.app.client_id,
        application_name: pending.app.name,
        scopes: pending.consent.scopes,
        user: {email: pending.user.email},
        teams: pending.user.teams.map((team) => ({id: team.id, name: team.name, organization_id: team.organization_id, organization_name: pending.user.organization.name})),
        expires_at: new Date(pending.consent.expires_at).toISOString(),
      })
    }),

    route(ctx, 'POST', CONFIRM_PATH, 'none', async ({request}) => {
      if (!state.config.signed_in) return NOT_SIGNED_IN()
      const body = await readBody(request)
      if (!body.ok) return apiError('invalid_request', body.reason)
      const pending = resolvePending(ctx, stringParam(body.params, 'state'))
      if (typeof pending === 'string') return apiError(pending, ERROR_MESSAGES[pending])
      const teamId = chosenTeam(pending, body.params.team_id)
      if (teamId === undefined) return apiError('invalid_team', 'team_id is not a project of this account')
      return json({redirect_url: confirm(ctx, pending, teamId)})
    }),

    route(ctx, 'POST', DENY_PATH, 'none', async ({request}) => {
      if (!state.config.signed_in) return NOT_SIGNED_IN()
      const body = await readBody(request)
      const pending = body.ok ? resolvePending(ctx, stringParam(body.params, 'state')) : 'missing_state'
      if (typeof pending === 'string') return apiError(pending, ERROR_MESSAGES[pending])
      return json({redirect_url: deny(ctx, pending)})
    }),

    // The page's form without scripts: the same decisions, answered with the redirect itself.
    route(ctx, 'POST', PAGE_PATH, 'none', async ({request}) => {
      const body = await readBody(request)
      if (!body.ok) return redirect(pageUrl(ctx, {error: 'missing_state'}))
      const pending = resolvePending(ctx, stringParam(body.params, 'state'))
      if (typeof pending === 'string') return redirect(pageUrl(ctx, {error: pending}))
      if (stringParam(body.params, 'decision') !== 'allow') return redirect(deny(ctx, pending))
      const teamId = chosenTeam(pending, body.params.team_id)
      if (teamId === undefined) return redirect(pageUrl(ctx, {error: 'expired_or_invalid_state'}))
      return redirect(confirm(ctx, pending, teamId))
    }),
  ]
}
