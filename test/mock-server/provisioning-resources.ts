/**
 * The Bearer resource endpoints (server.md section 4.2, [R] [B] [AU]): create (idempotent per app,
 * `project_id` and organization), read, rotate_credentials and remove. Status envelope everywhere
 * (`{status:"error", id, error}`), auth checked before any bucket is charged.
 */
import type {HttpHandler} from 'msw'

import {json, readBody, route, routePattern, statusError, stringParam, type MockContext} from './http.js'
import {chargeBucket, finishCharged, rateLimitedResponse} from './rate-limits.js'
import {effectiveCeiling} from './scopes.js'
import {addTeam, ceilingOf, findApp, findTeam, findUser, recordEvent, type AccessToken, type BucketName, type OAuthApp, type Team, type User} from './state.js'
import {bearerToken, checkAccessToken, randomApiKey, randomPersonalApiKey} from './tokens.js'

const RESOURCES_PATH = '/api/agentic/provisioning/resources'

interface Caller {
  ctx: MockContext
  token: AccessToken
  app: OAuthApp
  user: User
}

/** [AU ProvisioningBearerAuthentication]: 401/403 with `id: ""`, before anything is charged. */
function authenticate(ctx: MockContext, request: Request): Caller | Response {
  const value = bearerToken(request)
  if (!value) return statusError('unauthorized', 'Missing bearer token', 401)
  const check = checkAccessToken(ctx.state, value)
  if (!check.ok) return statusError('unauthorized', check.reason === 'expired' ? 'Access token expired' : 'Invalid access token', 401)
  const app = findApp(ctx.state, check.token.client_id)
  const user = findUser(ctx.state, check.token.user_email)
  if (!app || !user) return statusError('unauthorized', 'Authentication failed', 401)
  if (app.sessions_revoked_at !== undefined && check.token.issued_at <= app.sessions_revoked_at) return statusError('unauthorized', 'Authentication failed', 401)
  if (app.blocked || !app.provisioning.active) return statusError('unauthorized', 'Partner is deactivated', 401)
  if (!app.provisioning.can_provision_resources) return statusError('forbidden', 'Resource provisioning not enabled for this partner', 403)
  return {ctx, token: check.token, app, user}
}

/** Auth, then the bucket, then the handler; the RateLimit-* headers on everything after the charge. */
function bearerEndpoint(
  ctx: MockContext,
  {bucket, id}: {bucket: BucketName; id: string},
  handler: (caller: Caller, request: Request) => Response | Promise<Response>,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const caller = authenticate(ctx, request)
    if (caller instanceof Response) return caller
    const charged = chargeBucket(ctx.state, {clientId: caller.app.client_id, bucket})
    if (charged.limited) return finishCharged(ctx.state, charged.charge, rateLimitedResponse({retryAfter: charged.retryAfter, envelope: 'status', id}))
    return finishCharged(ctx.state, charged.charge, await handler(caller, request))
  }
}

/** The teams this token may reach: its scoped teams (provisioning) or every team of the user (OAuth). */
function scopedTeamIds(caller: Caller): number[] {
  return caller.token.scoped_teams ?? caller.user.teams.map((team) => team.id)
}

/** Adds a team to the access token's scope AND to its refresh token's, so a refresh keeps it. */
function addToTokenScope(ctx: MockContext, caller: Caller, teamId: number): void {
  const scoped = caller.token.scoped_teams
  if (!scoped || scoped.includes(teamId)) return
  scoped.push(teamId)
  for (const refresh of ctx.state.refreshTokens.values()) {
    if (refresh.access_token === caller.token.token && refresh.scoped_teams && !refresh.scoped_teams.includes(teamId)) refresh.scoped_teams.push(teamId)
  }
}

/** label_prefix: a string of at most 25 characters, no control or format characters. */
function labelPrefixError(value: unknown, id: string): Response | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') return statusError('invalid_label_prefix', 'label_prefix must be a string', 400, id)
  if ([...value].length > 25) return statusError('invalid_label_prefix', 'label_prefix must be 25 characters or fewer', 400, id)
  if (/[\p{Cc}\p{Cf}]/u.test(value)) return statusError('invalid_label_prefix', 'label_prefix must not contain control or format characters', 400, id)
  return undefined
}

/**
 * A personal API key for create and rotate (never for a read): only for apps with
 * `issues_personal_api_key`, scoped to the token's grant narrowed to the app's ceiling, none when
 * nothing is left (ee/api/agentic_provisioning/credentials.py maybe_create_provisioned_pat).
 */
function personalApiKey(caller: Caller): string | undefined {
  if (!caller.app.provisioning.issues_personal_api_key) return undefined
  const ceiling = ceilingOf(caller.app)
  if (ceiling.length === 0) return undefined
  const allowed = effectiveCeiling(ceiling)
  const scopes = caller.token.scopes.includes('*') ? ceiling : caller.token.scopes.filter((scope) => scope.includes(':') && allowed.includes(scope))
  if (scopes.length === 0) return undefined
  recordEvent(caller.ctx.state, 'provisioning.personal_api_key_minted', 'info', {client_id: caller.app.client_id, scopes})
  return randomPersonalApiKey()
}

function complete(ctx: MockContext, team: Team, personalApiKey?: string): Response {
  const access: Record<string, string> = {api_key: team.api_token, host: ctx.issuer}
  if (personalApiKey) access.personal_api_key = personalApiKey
  return json({status: 'complete', id: String(team.id), complete: {access_configuration: access}})
}

async function bodyParams(request: Request): Promise<Record<string, unknown> | Response> {
  const body = await readBody(request)
  return body.ok ? body.params : statusError('invalid_request', body.reason, 400)
}

/** [TM resolve_or_create_project_team] for POST resources. */
function resolveProject(ctx: MockContext, caller: Caller, params: Record<string, unknown>): {team: Team; created: boolean} | Response {
  const rawProjectId = params.project_id
  const projectId = typeof rawProjectId === 'number' ? String(rawProjectId) : stringParam(params, 'project_id')
  if (projectId === undefined) {
    // Without project_id: the token's first scoped team (the signup project); project_name is ignored.
    const first = scopedTeamIds(caller)[0]
    if (first === undefined) return statusError('no_team', 'No team associated with this token', 400)
    const found = findTeam(ctx.state, first)
    return found ? {team: found.team, created: false} : statusError('team_not_found', 'Team not found', 404)
  }
  const key = `${caller.app.client_id} ${projectId}`
  const link = ctx.state.projectLinks.get(key)
  if (link) {
    if (link.organization_id !== caller.user.organization.id) return statusError('project_id_conflict', 'Project ID already linked to another organization', 409)
    const found = findTeam(ctx.state, link.team_id)
    if (!found) return statusError('not_found', 'Resource not found', 404)
    addToTokenScope(ctx, caller, found.team.id)
    return {team: found.team, created: false}
  }
  const configuration = (params.configuration && typeof params.configuration === 'object' ? params.configuration : {}) as Record<string, unknown>
  const team = addTeam(ctx.state, caller.user, stringParam(configuration, 'project_name') ?? 'Default project')
  ctx.state.projectLinks.set(key, {team_id: team.id, organization_id: caller.user.organization.id})
  addToTokenScope(ctx, caller, team.id)
  ctx.state.counters.provisioning.resources_created += 1
  recordEvent(ctx.state, 'provisioning.resources_created', 'info', {client_id: caller.app.client_id, team_id: team.id, project_id: projectId})
  return {team, created: true}
}

/** [B parse_resource_team_id]: non-integer 400, outside the token 403, gone 404. */
function resourceTeam(ctx: MockContext, caller: Caller, id: string): Team | Response {
  if (!/^\d+$/.test(id)) return statusError('invalid_resource_id', 'Invalid resource ID', 400, id)
  const teamId = Number(id)
  if (!scopedTeamIds(caller).includes(teamId)) return statusError('forbidden', 'Resource not accessible with this token', 403, id)
  const found = findTeam(ctx.state, teamId)
  return found ? found.team : statusError('not_found', 'Resource not found', 404, id)
}

export function resourceHandlers(ctx: MockContext): HttpHandler[] {
  const {state} = ctx
  return [
    route(ctx, 'POST', RESOURCES_PATH, 'none', ({request}) =>
      bearerEndpoint(ctx, {bucket: 'resource_creates', id: ''}, async (caller) => {
        const params = await bodyParams(request)
        if (params instanceof Response) return params
        const labelError = labelPrefixError(params.label_prefix, '')
        if (labelError) return labelError
        const resolved = resolveProject(ctx, caller, params)
        if (resolved instanceof Response) return resolved
        return complete(ctx, resolved.team, personalApiKey(caller))
      })(request),
    ),

    routePattern(ctx, 'GET', /^\/api\/agentic\/provisioning\/resources\/([^/]+)$/, ({request, match}) => {
      const id = decodeURIComponent(match[1]!)
      return bearerEndpoint(ctx, {bucket: 'resource_reads', id}, (caller) => {
        const team = resourceTeam(ctx, caller, id)
        return team instanceof Response ? team : complete(ctx, team)
      })(request)
    }),

    routePattern(ctx, 'POST', /^\/api\/agentic\/provisioning\/resources\/([^/]+)\/rotate_credentials$/, ({request, match}) => {
      const id = decodeURIComponent(match[1]!)
      return bearerEndpoint(ctx, {bucket: 'credential_rotations', id}, async (caller) => {
        const params = await bodyParams(request)
        if (params instanceof Response) return params
        const labelError = labelPrefixError(params.label_prefix, id)
        if (labelError) return labelError
        const team = resourceTeam(ctx, caller, id)
        if (team instanceof Response) return team
        // reset_token_and_save: the team has one key, so the old one stops working at once.
        team.api_token = randomApiKey()
        recordEvent(state, 'provisioning.credentials_rotated', 'info', {client_id: caller.app.client_id, team_id: team.id})
        return complete(ctx, team, personalApiKey(caller))
      })(request)
    }),

    routePattern(ctx, 'POST', /^\/api\/agentic\/provisioning\/resources\/([^/]+)\/remove$/, ({request, match}) => {
      const id = decodeURIComponent(match[1]!)
      return bearerEndpoint(ctx, {bucket: 'resource_removals', id}, (caller) => {
        const team = resourceTeam(ctx, caller, id)
        if (team instanceof Response) return team
        const owner = findTeam(state, team.id)!.user
        owner.teams = owner.teams.filter((candidate) => candidate.id !== team.id)
        // The project_id link goes too, so creating the same project_id again makes a new project.
        for (const [key, link] of state.projectLinks) if (link.team_id === team.id) state.projectLinks.delete(key)
        recordEvent(state, 'provisioning.resources_removed', 'info', {client_id: caller.app.client_id, team_id: team.id})
        return json({status: 'removed', id})
      })(request)
    }),
  ]
}
