/**
 * The control surface: what a test may read and change on a running mock. The same operations exist as
 * methods (in-process) and as HTTP under `/__mock/` (served mode); both take the same snake_case input.
 * Control requests are never counted nor faulted.
 */
import type {HttpHandler} from 'msw'

import {addFault, type FaultInput} from './faults.js'
import {json, readBody, route, type MockContext} from './http.js'
import {
  addUser,
  DEFAULT_RATE_LIMIT,
  findApp,
  recordEvent,
  resetState,
  type Counters,
  type MockConfig,
  type MockEvent,
  type OAuthApp,
  type ProvisioningFlags,
  type RateLimit,
  type StateOptions,
  type User,
} from './state.js'

export interface AppInput {
  client_id: string
  name?: string
  scopes?: string[]
  redirect_uris?: string[]
  first_party?: boolean
  provisioning?: Partial<ProvisioningFlags>
}

export interface UserInput {
  email: string
  first_name?: string
  organization_name?: string
}

export interface ConfigInput {
  policy?: 'reject' | 'clamp'
  auto_approve?: boolean
  iss_parameter?: boolean
  signed_in?: boolean
  latency_ms?: number
  fail_next?: FaultInput | FaultInput[]
  rate_limit?: Partial<RateLimit> | false
  empty_signup_scopes?: 'ceiling' | 'none'
  require_api_version?: boolean
}

export interface Snapshot {
  issuer: string
  config: MockConfig
  apps: OAuthApp[]
  users: Array<Pick<User, 'uuid' | 'email' | 'first_name' | 'organization'> & {teams: Array<{id: number; name: string}>}>
  counters: Counters
  tokens: {access: number; refresh: number}
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
          teams: user.teams.map((team) => ({id: team.id, name: team.name})),
        })),
        counters: state.counters,
        tokens: {access: state.accessTokens.size, refresh: state.refreshTokens.size},
      }),

    events: () => structuredClone(state.events),

    upsertApp(input) {
      if (!input || typeof input.client_id !== 'string' || input.client_id === '') throw new ControlError('client_id is required')
      const app: OAuthApp = findApp(state, input.client_id) ?? {
        client_id: input.client_id,
        name: input.client_id,
        redirect_uris: [],
        scopes: [],
        first_party: false,
        provisioning: {active: false, can_create_accounts: false, can_provision_resources: false},
        registered_via: 'control',
      }
      if (input.name !== undefined) app.name = String(input.name)
      if (input.scopes !== undefined) app.scopes = stringList(input.scopes, 'scopes')
      if (input.redirect_uris !== undefined) app.redirect_uris = stringList(input.redirect_uris, 'redirect_uris')
      if (input.first_party !== undefined) app.first_party = bool(input.first_party, 'first_party')
      if (input.provisioning !== undefined) {
        for (const flag of ['active', 'can_create_accounts', 'can_provision_resources'] as const) {
          if (input.provisioning[flag] !== undefined) app.provisioning[flag] = bool(input.provisioning[flag], `provisioning.${flag}`)
        }
      }
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
      if (input.rate_limit !== undefined) config.rate_limit = input.rate_limit === false ? false : {...DEFAULT_RATE_LIMIT, ...(config.rate_limit || {}), ...input.rate_limit}
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

    reset: () => resetState(state, options),
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
        if (error instanceof ControlError) return json({error: error.message}, 400)
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
  ]
}
