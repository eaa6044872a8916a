/**
 * The Bearer resource endpoints (server.md 4.2 "Bearer resource endpoints"): a project (PostHog team)
 * with its API key, created idempotently by a partner `project_id`, read, re-keyed and removed with the
 * provisioning session's access token. Errors come in the status envelope; a 401 is a
 * ProvisioningTokenRejectedError, which withTokenRefresh() answers with one refresh and one retry.
 */
import {callProvisioning, provisioningUrl, type ProvisioningDeps} from './api.js'
import {NetworkError} from '../errors.js'
import {rememberSecret} from '../redact.js'
import {serverText} from '../terminal-text.js'
import {malformedResponse, ProvisioningTokenRejectedError, type ProvisioningStep} from './errors.js'

export interface ProvisionedProject {
  /** The team id, as the server sends it (a string of digits). */
  id: string
  api_key: string
  host: string
  /** Only for partners grandfathered into PATs, and only on create (server.md 4.2). */
  personal_api_key?: string
}

export interface BearerCall {
  issuer: string
  accessToken: string
}

export type ProvisionProjectOptions = BearerCall & {labelPrefix?: string} & (
    | {projectId?: undefined; projectName?: undefined}
    /** `projectName` is used only with a `projectId`: without one the server returns the signup project and ignores the name. */
    | {projectId: string; projectName?: string}
  )

const RESOURCES = '/api/agentic/provisioning/resources'

/** POST …/resources: with `projectId`, the same id returns the same project; without, the signup project. */
export async function provisionProject(deps: ProvisioningDeps, options: ProvisionProjectOptions): Promise<ProvisionedProject> {
  const body: Record<string, unknown> = {}
  if (options.projectId !== undefined) body.project_id = options.projectId
  if (options.projectId !== undefined && options.projectName !== undefined) body.configuration = {project_name: options.projectName}
  if (options.labelPrefix !== undefined) body.label_prefix = options.labelPrefix
  return readProject(
    deps,
    {...options, step: 'project_create', url: provisioningUrl(options.issuer, RESOURCES), method: 'POST', json: body},
    options.projectId === undefined ? {} : {resourceId: options.projectId},
  )
}

/** GET …/resources/{id}: the same shape, never with a PAT. */
export function showProject(deps: ProvisioningDeps, options: BearerCall & {id: string}): Promise<ProvisionedProject> {
  return readProject(deps, {...options, step: 'project_show', url: resourceUrl(options, ''), method: 'GET'}, {resourceId: options.id})
}

/** POST …/resources/{id}/rotate_credentials: a new `api_key` (whether the old one still works is unverified). */
export function rotateProjectKey(deps: ProvisioningDeps, options: BearerCall & {id: string; labelPrefix?: string}): Promise<ProvisionedProject> {
  const json = options.labelPrefix === undefined ? {} : {label_prefix: options.labelPrefix}
  return readProject(deps, {...options, step: 'project_rotate', url: resourceUrl(options, '/rotate_credentials'), method: 'POST', json}, {resourceId: options.id})
}

/** POST …/resources/{id}/remove: 200 `{status:"removed", id}`. */
export async function removeProject(deps: ProvisioningDeps, options: BearerCall & {id: string}): Promise<{removed: true; id: string}> {
  const {body, status} = await callProvisioning(deps, {
    step: 'project_remove',
    issuer: options.issuer,
    url: resourceUrl(options, '/remove'),
    json: {},
    bearer: options.accessToken,
    context: {resourceId: options.id},
  })
  if (body.status !== 'removed') throw malformedResponse({step: 'project_remove', issuer: options.issuer, status, contentType: 'application/json', expected: '`status` "removed"'})
  return {removed: true, id: idOf(body.id) ?? options.id}
}

/**
 * Calls a Bearer step with the session's access token; if the server refuses that token in a way a
 * refresh may cure (unknown, expired, rotated), calls `refresh` ONCE for a new access token and retries
 * once. `refresh` is the caller's: it refreshes under the session lock and stores the new pair first.
 */
export async function withTokenRefresh<T>(
  {accessToken, refresh}: {accessToken: string; refresh: () => Promise<string>},
  call: (accessToken: string) => Promise<T>,
): Promise<T> {
  try {
    return await call(accessToken)
  } catch (error) {
    if (!(error instanceof ProvisioningTokenRejectedError) || !error.refreshable) throw error
    return call(await refresh())
  }
}

/** `{id}` is path-encoded: a non-integer is the server's `invalid_resource_id`, never a different path. */
function resourceUrl({issuer, id}: {issuer: string; id: string}, suffix: string): string {
  return provisioningUrl(issuer, `${RESOURCES}/${encodeURIComponent(id)}${suffix}`)
}

async function readProject(
  deps: ProvisioningDeps,
  request: BearerCall & {step: ProvisioningStep; url: string; method: 'GET' | 'POST'; json?: Record<string, unknown>},
  context: {resourceId?: string},
): Promise<ProvisionedProject> {
  const {body, status} = await callProvisioning(deps, {
    step: request.step,
    issuer: request.issuer,
    url: request.url,
    method: request.method,
    ...(request.json ? {json: request.json} : {}),
    bearer: request.accessToken,
    context,
  })
  return readProjectAnswer(body, {step: request.step, issuer: request.issuer, status})
}

/**
 * A project answer the server sent but onramp cannot use: not `complete`, or without its id or key. The
 * project may exist all the same (the wizard's `ProvisionedAccountUnreadableError`): `projectId` is the
 * answer's id when it had one, for a read-back.
 */
export class ProjectAnswerUnreadableError extends NetworkError {
  readonly projectId: string | null
  constructor(cause: NetworkError, projectId: string | null, code: 'project_incomplete' | 'project_unreadable') {
    super(cause.message, {code, cause})
    this.projectId = projectId
  }
}

/** The reading half of every project answer: `{status:"complete", id, complete.access_configuration}`; unknown fields ignored. */
export function readProjectAnswer(body: Record<string, unknown>, where: {step: ProvisioningStep; issuer: string; status: number}): ProvisionedProject {
  const access = ((body.complete as {access_configuration?: unknown} | undefined)?.access_configuration ?? undefined) as Record<string, unknown> | undefined
  const id = idOf(body.id)
  if (body.status !== 'complete' || !id || !access || typeof access.api_key !== 'string' || access.api_key === '' || typeof access.host !== 'string' || access.host === '') {
    const incomplete = typeof body.status === 'string' && body.status !== 'complete'
    const error = malformedResponse({
      ...where,
      contentType: 'application/json',
      expected: incomplete
        ? `\`status\` "complete" (it said "${serverText(String(body.status)).slice(0, 40)}")`
        : '`status` "complete" with `id` and `complete.access_configuration.{api_key, host}`',
    })
    throw new ProjectAnswerUnreadableError(error, id ?? null, incomplete ? 'project_incomplete' : 'project_unreadable')
  }
  if (typeof access.personal_api_key === 'string' && access.personal_api_key !== '') rememberSecret(access.personal_api_key)
  return {
    id,
    api_key: access.api_key,
    host: access.host,
    ...(typeof access.personal_api_key === 'string' && access.personal_api_key !== '' ? {personal_api_key: access.personal_api_key} : {}),
  }
}

function idOf(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return String(value)
  return typeof value === 'string' && value !== '' ? value : undefined
}
