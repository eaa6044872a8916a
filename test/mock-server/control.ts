/**
 * The control surface: what a test may read and change on a running mock. The same operations exist as
 * methods (in-process) and as HTTP under `/__mock/` (served mode); both take the same snake_case input.
 * Control requests are never counted nor faulted.
 */
import type {HttpHandler} from 'msw'

import {deviceControlHandlers, DeviceControlError, type DeviceControl} from './device.js'
import {addFault, type FaultInput} from './faults.js'
import {json, readBody, route, type MockContext} from './http.js'
import {emptyBucket} from './rate-limits.js'
import {
  addUser,
  BUCKET_NAMES,
  DEFAULT_BUCKET_LIMITS,
  findApp,
  recordEvent,
  resetState,
  type Counters,
  type MockConfig,
  type MockEvent,
  type OAuthApp,
  type BucketLimit,
  type BucketName,
  type ProvisioningFlags,
  type RegistrationThrottle,
  type StateOptions,
  type User,
} from './state.js'

export interface AppInput {
  client_id: string
  name?: string
  scopes?: string[]
  /** Declinable extras on top of `scopes` (the grantable set is both). */
  optional_scopes?: string[]
  /** Makes the app a confidential client with this secret (it may then introspect its own tokens); null: public again. */
  client_secret?: string | null
  redirect_uris?: string[]
  first_party?: boolean
  provisioning?: Partial<ProvisioningFlags>
  /** client_registration: "This client_id has been blocked"; account_requests: 401. */
  blocked?: boolean
  /** true: every code and token issued so far is refused ("Application sessions were revoked"). */
  revoke_sessions?: boolean
}

export interface UserInput {
  email: string
  first_name?: string
  organization_name?: string
  project_name?: string
  email_verified?: boolean
}

/** A bucket's limits: `{burst, per_hour}`, `"unlimited"` (or -1), or null for the default. */
export type BucketLimitInput = Partial<{burst: number; per_hour: number}> | 'unlimited' | -1 | null

export interface ConfigInput {
  policy?: 'reject' | 'clamp'
  auto_approve?: boolean
  iss_parameter?: boolean
  signed_in?: boolean
  latency_ms?: number
  fail_next?: FaultInput | FaultInput[]
  /** false: no bucket is charged and no throttle applies; true: back on. */
  rate_limit?: boolean
  /** Per-bucket limits for every partner (server.md section 4.3). */
  rate_limits?: Partial<Record<BucketName, BucketLimitInput>>
  /** Empties buckets now (every partner, or the one named): the next charged request gets the 429. */
  empty_buckets?: BucketName | Array<BucketName | {bucket: BucketName; client_id?: string}>
  registration_throttle?: Partial<RegistrationThrottle>
  /** Access token lifetime in seconds for every token issued afterwards (OAuth and provisioning); null = default. */
  access_token_ttl?: number | null
  /** Scopes left out of every token issued afterwards, although requested and allowed. [] = none. */
  mint_scopes_drop?: string[]
  /** account_requests per caller IP per day (429 "Too many account requests from this caller"); null = off. */
  account_requests_per_ip_per_day?: number | null
  /** Emails or `@domain`s that account_requests refuses with 403. */
  email_blocklist?: string[]
  empty_signup_scopes?: 'ceiling' | 'none'
  require_api_version?: boolean
}

export interface Snapshot {
  issuer: string
  config: MockConfig
  apps: OAuthApp[]
  users: Array<Pick<User, 'uuid' | 'email' | 'first_name' | 'organization' | 'email_verified'> & {teams: Array<{id: number; name: string; api_key: string}>}>
  counters: Counters
  tokens: {access: number; refresh: number}
  totals: {users: number; teams: number}
  /** POST resources links: `<client_id> <project_id>` -> team. */
  project_links: Record<string, {team_id: number; organization_id: string}>
  /** Token buckets as last updated: `<client_id> <bucket>` -> tokens left. */
  buckets: Record<string, number>
}

export interface MockControl {
  /** Apps, users, counters and config, as `GET /__mock/state` answers. */
  snapshot(): Snapshot
  /** The structured event log, oldest first (`GET /__mock/events`). */
  events(): MockEvent[]
  /** Creates or updates an app; fields not given are kept (`POST /__mock/apps`). */
  upsertApp(input: AppInput): OAuthApp
  /** Adds an existing account (`POST /__mock/users`); an existing email is returned unchanged. */
  addUser(input: UserInput): User
  /** Every access token expires now (`POST /__mock/tokens/expire`); returns how many were live. */
  expireTokens(): number
  /** Policy, auto-approve, faults, latency... (`POST /__mock/config`); returns the new config. */
  configure(input: ConfigInput): MockConfig
  /** Moves the mock's clock forward (`POST /__mock/clock {advance_seconds}`); returns the new now (ms). */
  advanceClock(seconds: number): number
  /** Back to the seeded state and default config (`POST /__mock/reset`). */
  reset(): void
  /**
   * The device authorization grant (device.ts): `settings({enabled?, interval?, expires_in?})`, `codes()`,
   * and `approve`, `deny`, `slowDown`, `expire` on a pending code (`/__mock/device*`).
   */
  device: DeviceControl
}

/** Bad control input: a 400 over HTTP, an exception in-process. */
export class ControlError extends Error {}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new ControlError(`${field} must be a list of strings`)
  return [...value]
}

function bool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ControlError(`${field} must be true or false`)
  return value
}

function count(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ControlError(`${field} must be a number >= 0`)
  return value
}

function bucketName(value: unknown): BucketName {
  if (!BUCKET_NAMES.includes(value as BucketName)) throw new ControlError(`unknown bucket ${String(value)}; one of ${BUCKET_NAMES.join(', ')}`)
  return value as BucketName
}

function bucketLimit(name: BucketName, value: BucketLimitInput | undefined, current: BucketLimit): BucketLimit {
  if (value === null || value === undefined) return structuredClone(DEFAULT_BUCKET_LIMITS[name])
  if (value === 'unlimited' || value === -1) return 'unlimited'
  if (typeof value !== 'object') throw new ControlError(`rate_limits.${name} must be {burst, per_hour}, "unlimited" or null`)
  const base = current === 'unlimited' ? DEFAULT_BUCKET_LIMITS[name] : current
  if (base === 'unlimited') return 'unlimited'
  return {burst: count(value.burst ?? base.burst, `rate_limits.${name}.burst`), per_hour: count(value.per_hour ?? base.per_hour, `rate_limits.${name}.per_hour`)}
}

export function createControl(ctx: MockContext, options: StateOptions): MockControl {
  const {state} = ctx
  return {
    snapshot: () =>
      structuredClone({
        issuer: ctx.issuer,
        config: state.config,
        apps: [...state.apps.values()],
        users: [...state.users.values()].map((user) => ({
          uuid: user.uuid,
          email: user.email,
          first_name: user.first_name,
          organization: user.organization,
          email_verified: user.email_verified,
          teams: user.teams.map((team) => ({id: team.id, name: team.name, api_key: team.api_token})),
        })),
        counters: state.counters,
        tokens: {access: state.accessTokens.size, refresh: state.refreshTokens.size},
        totals: {users: state.users.size, teams: [...state.users.values()].reduce((sum, user) => sum + user.teams.length, 0)},
        project_links: Object.fromEntries(state.projectLinks),
        buckets: Object.fromEntries([...state.buckets].map(([key, bucket]) => [key, bucket.tokens])),
      }),

    events: () => structuredClone(state.events),

    upsertApp(input) {
      if (!input || typeof input.client_id !== 'string' || input.client_id === '') throw new ControlError('client_id is required')
      const app: OAuthApp = findApp(state, input.client_id) ?? {
        client_id: input.client_id,
        name: input.client_id,
        redirect_uris: [],
        scopes: [],
        optional_scopes: [],
        client_type: 'public',
        client_secret: undefined,
        first_party: false,
        provisioning: {active: false, can_create_accounts: false, can_provision_resources: false, issues_personal_api_key: false},
        registered_via: 'control',
        blocked: false,
        sessions_revoked_at: undefined,
      }
      if (input.name !== undefined) app.name = String(input.name)
      if (input.scopes !== undefined) app.scopes = stringList(input.scopes, 'scopes')
      if (input.optional_scopes !== undefined) app.optional_scopes = stringList(input.optional_scopes, 'optional_scopes')
      if (input.client_secret !== undefined) {
        if (input.client_secret !== null && (typeof input.client_secret !== 'string' || input.client_secret === '')) throw new ControlError('client_secret must be a non-empty string or null')
        app.client_secret = input.client_secret ?? undefined
        app.client_type = input.client_secret === null ? 'public' : 'confidential'
      }
      if (input.redirect_uris !== undefined) app.redirect_uris = stringList(input.redirect_uris, 'redirect_uris')
      if (input.first_party !== undefined) app.first_party = bool(input.first_party, 'first_party')
      if (input.provisioning !== undefined) {
        for (const flag of ['active', 'can_create_accounts', 'can_provision_resources', 'issues_personal_api_key'] as const) {
          if (input.provisioning[flag] !== undefined) app.provisioning[flag] = bool(input.provisioning[flag], `provisioning.${flag}`)
        }
      }
      if (input.blocked !== undefined) app.blocked = bool(input.blocked, 'blocked')
      if (input.revoke_sessions !== undefined && bool(input.revoke_sessions, 'revoke_sessions')) app.sessions_revoked_at = state.now()
      state.apps.set(app.client_id, app)
      recordEvent(state, 'mock.app_upserted', 'info', {client_id: app.client_id, scopes: app.scopes})
      return structuredClone(app)
    },

    addUser(input) {
      if (!input || typeof input.email !== 'string' || !input.email.includes('@')) throw new ControlError('email is required')
      return structuredClone(addUser(state, input))
    },

    expireTokens() {
      let live = 0
      for (const token of state.accessTokens.values()) {
        if (token.expires_at > state.now()) {
          token.expires_at = state.now()
          live += 1
        }
      }
      return live
    },

    configure(input) {
      const config = state.config
      if (input.policy !== undefined) {
        if (input.policy !== 'reject' && input.policy !== 'clamp') throw new ControlError('policy must be "reject" or "clamp"')
        config.policy = input.policy
      }
      if (input.auto_approve !== undefined) config.auto_approve = bool(input.auto_approve, 'auto_approve')
      if (input.iss_parameter !== undefined) config.iss_parameter = bool(input.iss_parameter, 'iss_parameter')
      if (input.signed_in !== undefined) config.signed_in = bool(input.signed_in, 'signed_in')
      if (input.require_api_version !== undefined) config.require_api_version = bool(input.require_api_version, 'require_api_version')
      if (input.latency_ms !== undefined) {
        if (typeof input.latency_ms !== 'number' || input.latency_ms < 0) throw new ControlError('latency_ms must be a number >= 0')
        config.latency_ms = input.latency_ms
      }
      if (input.empty_signup_scopes !== undefined) {
        if (input.empty_signup_scopes !== 'ceiling' && input.empty_signup_scopes !== 'none') throw new ControlError('empty_signup_scopes must be "ceiling" or "none"')
        config.empty_signup_scopes = input.empty_signup_scopes
      }
      if (input.rate_limit !== undefined) config.rate_limit = bool(input.rate_limit, 'rate_limit')
      if (input.rate_limits !== undefined) {
        for (const [name, value] of Object.entries(input.rate_limits)) config.rate_limits[bucketName(name)] = bucketLimit(name as BucketName, value, config.rate_limits[name as BucketName])
      }
      if (input.empty_buckets !== undefined) {
        const entries = Array.isArray(input.empty_buckets) ? input.empty_buckets : [input.empty_buckets]
        for (const entry of entries) {
          const {bucket, client_id: clientId} = typeof entry === 'string' ? {bucket: entry, client_id: undefined} : entry
          emptyBucket(state, {bucket: bucketName(bucket), clientIds: clientId ? [clientId] : [...state.apps.keys()]})
        }
      }
      if (input.registration_throttle !== undefined) {
        for (const field of ['per_client_id', 'per_ip'] as const) {
          const value = input.registration_throttle[field]
          if (value !== undefined) config.registration_throttle[field] = count(value, `registration_throttle.${field}`)
        }
      }
      if (input.access_token_ttl !== undefined) config.access_token_ttl = input.access_token_ttl === null ? null : count(input.access_token_ttl, 'access_token_ttl')
      if (input.account_requests_per_ip_per_day !== undefined) {
        const cap = input.account_requests_per_ip_per_day
        config.account_requests_per_ip_per_day = cap === null ? null : count(cap, 'account_requests_per_ip_per_day')
      }
      if (input.mint_scopes_drop !== undefined) config.mint_scopes_drop = stringList(input.mint_scopes_drop, 'mint_scopes_drop')
      if (input.email_blocklist !== undefined) config.email_blocklist = stringList(input.email_blocklist, 'email_blocklist')
      if (input.fail_next !== undefined) {
        for (const fault of Array.isArray(input.fail_next) ? input.fail_next : [input.fail_next]) {
          try {
            addFault(state, fault)
          } catch (error) {
            throw new ControlError((error as Error).message)
          }
        }
      }
      return structuredClone(config)
    },

    advanceClock(seconds) {
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) throw new ControlError('advance_seconds must be a number >= 0')
      state.clockOffsetMs += seconds * 1000
      return state.now()
    },

    reset: () => {
      resetState(state, options)
      ctx.device?.control.reset()
    },

    get device(): DeviceControl {
      if (!ctx.device) throw new ControlError('this mock has no device grant module')
      return ctx.device.control
    },
  }
}

/** `/__mock/*` over HTTP, for the served mock (and usable in-process too). */
export function controlHandlers(ctx: MockContext, control: MockControl): HttpHandler[] {
  const post = (path: string, operation: (body: Record<string, unknown>) => unknown): HttpHandler =>
    route(ctx, 'POST', `/__mock/${path}`, 'optional', async ({request}) => {
      const body = await readBody(request)
      if (!body.ok) return json({error: body.reason}, 400)
      try {
        return json(operation(body.params) ?? {ok: true})
      } catch (error) {
        if (error instanceof ControlError || error instanceof DeviceControlError) return json({error: error.message}, 400)
        throw error
      }
    })
  return [
    route(ctx, 'GET', '/__mock/state', 'optional', () => json(control.snapshot())),
    route(ctx, 'GET', '/__mock/events', 'optional', () => json(control.events())),
    post('apps', (body) => control.upsertApp(body as unknown as AppInput)),
    post('users', (body) => control.addUser(body as unknown as UserInput)),
    post('tokens/expire', () => ({expired: control.expireTokens()})),
    post('config', (body) => control.configure(body as ConfigInput)),
    post('clock', (body) => ({now: control.advanceClock(body.advance_seconds as number)})),
    post('reset', () => {
      control.reset()
      return {ok: true}
    }),
    ...deviceControlHandlers(ctx, control.device, post),
  ]
}
