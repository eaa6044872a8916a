/**
 * Everything the mock server remembers: apps, users, codes, tokens, consents, rate-limit buckets,
 * events and counters, plus its runtime configuration. One plain object per mock instance, so
 * several mocks (US, EU, self-hosted) can live side by side in one test process.
 */
import {randomUUID} from 'node:crypto'

import {WIZARD_APP_CEILING} from './scope-data.js'
import type {AuthorizePolicy} from './scopes.js'
import {randomApiKey} from './tokens.js'

export const WIZARD_CLIENT_IDS = {
  us: 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM',
  eu: 'bx2C5sZRN03TkdjraCcetvQFPGH6N2Y9vRLkcKEy',
} as const

/** The wizard app's redirect URIs, in registration order: 8239 first (provisioning consent redirects there). */
export const WIZARD_REDIRECT_URIS: readonly string[] = [
  ...[8239, 8238, 8240, 8237, 8236, 8235].map((port) => `http://localhost:${port}/callback`),
  'http://localhost/callback',
  'http://127.0.0.1/callback',
]

/** The user signed in to the mock's browser session (consent pages act as this user). */
export const DEFAULT_USER_EMAIL = 'dev@example.com'

export interface ProvisioningFlags {
  active: boolean
  can_create_accounts: boolean
  can_provision_resources: boolean
  /**
   * Resource creation and rotation also return a personal API key (`phx_`), scoped to the grant narrowed
   * to the ceiling (ee/api/agentic_provisioning/credentials.py maybe_create_provisioned_pat). The wizard
   * apps have it: the wizard's recorded create answer carries `personal_api_key`.
   */
  issues_personal_api_key: boolean
}

export interface OAuthApp {
  client_id: string
  name: string
  redirect_uris: string[]
  /** The required ceiling, as stored (may hold `@default`); see scopes.ts effectiveCeiling. */
  scopes: string[]
  /**
   * Declinable extras on top of `scopes` (posthog/models/oauth.py `optional_scopes`); the grantable set is
   * both (`ceiling_scopes`, see ceilingOf()).
   */
  optional_scopes: string[]
  /**
   * `public` (PKCE only) or `confidential` (holds `client_secret`): only a confidential client's
   * credentials may introspect tokens (posthog/api/oauth/views.py, ConfidentialClientOnlyOAuthValidator).
   */
  client_type: 'public' | 'confidential'
  client_secret: string | undefined
  first_party: boolean
  provisioning: ProvisioningFlags
  registered_via: 'seed' | 'control' | 'dcr'
  /** client_registration answers "This client_id has been blocked". */
  blocked: boolean
  /** Set by control: codes and tokens issued before it are refused ("Application sessions were revoked"). */
  sessions_revoked_at: number | undefined
}

export interface Organization {
  id: string
  name: string
}

export interface Team {
  id: number
  name: string
  organization_id: string
  api_token: string
}

export interface User {
  uuid: string
  email: string
  first_name: string
  organization: Organization
  teams: Team[]
  region: 'US' | 'EU' | undefined
  /** Provisioned accounts start unverified (server.md section 4). */
  email_verified: boolean
}

export type Surface = 'oauth' | 'provisioning'

export interface AuthCode {
  code: string
  surface: Surface
  client_id: string
  user_email: string
  scopes: string[]
  /** `/oauth/authorize` only: the token request must repeat it exactly. */
  redirect_uri: string | undefined
  code_challenge: string | undefined
  nonce: string | undefined
  /** Provisioning: the teams the token will be scoped to (the new project, or the team chosen on consent). */
  scoped_teams: number[] | undefined
  issued_at: number
  expires_at: number
  used: boolean
}

/** What access and refresh tokens share: who, for which app, which scopes, which rotation family. */
interface IssuedToken {
  token: string
  surface: Surface
  family: string
  client_id: string
  user_email: string
  scopes: string[]
  /** Provisioning tokens are scoped to teams; undefined (OAuth) means every team of the user. */
  scoped_teams: number[] | undefined
  issued_at: number
  expires_at: number
}

export interface AccessToken extends IssuedToken {
  revoked_at: number | undefined
}

export interface RefreshToken extends IssuedToken {
  /** The access token issued together with this refresh token. */
  access_token: string
  /** Set when a refresh rotated it: the grace period counts from here. */
  rotated_at: number | undefined
  replaced_by: string | undefined
  /** Set by /oauth/revoke or a family revocation: final, no grace. */
  revoked_at: number | undefined
}

/** An existing-account signup waiting for the user's consent at /api/agentic/authorize (server.md section 4). */
export interface PendingConsent {
  state: string
  request_id: string
  client_id: string
  user_email: string
  scopes: string[]
  code_challenge: string
  expires_at: number
}

export interface MockEvent {
  event: string
  level: 'info' | 'warn'
  at: string
  [field: string]: unknown
}

/** The partner token buckets of server.md section 4.3. */
export const BUCKET_NAMES = ['account_requests', 'token_exchanges', 'token_refreshes', 'resource_creates', 'resource_reads', 'credential_rotations', 'resource_removals'] as const
export type BucketName = (typeof BUCKET_NAMES)[number]

/** Capacity = burst, continuous refill of per_hour tokens an hour; 'unlimited' = the admin override -1. */
export type BucketLimit = {burst: number; per_hour: number} | 'unlimited'

/** Public tier (PKCE partners, multiplier 1), server.md section 4.3. */
export const DEFAULT_BUCKET_LIMITS: Record<BucketName, BucketLimit> = {
  account_requests: {burst: 5, per_hour: 10},
  token_exchanges: {burst: 10, per_hour: 20},
  token_refreshes: {burst: 30, per_hour: 120},
  resource_creates: {burst: 10, per_hour: 30},
  resource_reads: {burst: 30, per_hour: 120},
  credential_rotations: {burst: 30, per_hour: 120},
  resource_removals: {burst: 30, per_hour: 120},
}

export interface Bucket {
  tokens: number
  updated_at: number
}

/** client_registration's fixed-window throttles (per hour). */
export interface RegistrationThrottle {
  per_client_id: number
  per_ip: number
}

export interface MockConfig {
  policy: AuthorizePolicy
  auto_approve: boolean
  /** RFC 9207 `iss` on authorize redirects; real PostHog is not known to send it. */
  iss_parameter: boolean
  /** false: /oauth/authorize sends the browser to the login page first. */
  signed_in: boolean
  latency_ms: number
  /** false: no bucket is charged and no throttle applies (like an unlimited override everywhere). */
  rate_limit: boolean
  /** Per-bucket limits, the same for every partner. */
  rate_limits: Record<BucketName, BucketLimit>
  registration_throttle: RegistrationThrottle
  /** Seconds; null = the server's lifetimes (3600 s). Applies to tokens issued afterwards, both surfaces. */
  access_token_ttl: number | null
  /** Scopes left out of every token issued afterwards (a server that mints fewer scopes than asked). */
  mint_scopes_drop: string[]
  /** account_requests per caller IP per day (step 6); null = off (the production value is unverified). */
  account_requests_per_ip_per_day: number | null
  /** Emails (or `@domain`) refused by account_requests with 403 forbidden. */
  email_blocklist: string[]
  /** 'ceiling' (today): empty signup scopes become the app's ceiling; 'none' (older servers): the code carries no scopes. */
  empty_signup_scopes: 'ceiling' | 'none'
  /** Older provisioning servers refused requests without `API-Version`. */
  require_api_version: boolean
}

export interface FaultRule {
  path: string
  method: string | undefined
  status: number
  remaining: number
  /** null: no Retry-After at all; undefined: the default (1 s on 429 and 503). */
  retry_after: number | null | undefined
  malformed: boolean
  code: string | undefined
  message: string | undefined
  /** The handler runs first; only its answer is replaced (a lost response). */
  after_handler: boolean
}

export type GrantCounter = 'authorization_code' | 'refresh_token' | 'provisioning:authorization_code' | 'provisioning:refresh_token'

export interface Counters {
  requests: Record<string, number>
  /** Successful grants per grant type (a grace-period replay counts: it answered with tokens). */
  grants: Record<GrantCounter, number>
  /** Revocations that ended a live token (unknown or dead tokens still get 200, but do not count). */
  revocations: number
  /** Provisioning requests as the handlers saw them (after faults), failures included. */
  provisioning: {
    client_registrations: number
    account_requests: number
    accounts_created: number
    token_requests: {authorization_code: number; refresh_token: number; other: number}
    resources_created: number
    rate_limited: number
  }
}

export interface MockState {
  apps: Map<string, OAuthApp>
  /** Keyed by lower-cased email. */
  users: Map<string, User>
  codes: Map<string, AuthCode>
  accessTokens: Map<string, AccessToken>
  refreshTokens: Map<string, RefreshToken>
  revokedFamilies: Set<string>
  consents: Map<string, PendingConsent>
  /** Token buckets keyed `<client_id> <bucket>`. */
  buckets: Map<string, Bucket>
  /** client_registration fixed windows keyed `client:<id>` / `ip:<addr>`. */
  throttleWindows: Map<string, {window_start: number; count: number}>
  /** `project_id` links of POST resources, keyed `<client_id> <project_id>`. */
  projectLinks: Map<string, {team_id: number; organization_id: string}>
  events: MockEvent[]
  counters: Counters
  config: MockConfig
  faults: FaultRule[]
  /** The injectable clock plus any advance made through control (ms). */
  now: () => number
  clockOffsetMs: number
  nextTeamId: number
  /** The email of the browser session on the consent pages. */
  browserUserEmail: string
}

export interface StateOptions {
  now?: () => number
  policy?: AuthorizePolicy
  autoApprove?: boolean
  issParameter?: boolean
}

export function defaultConfig(options: StateOptions): MockConfig {
  return {
    policy: options.policy ?? 'reject',
    auto_approve: options.autoApprove ?? false,
    iss_parameter: options.issParameter ?? false,
    signed_in: true,
    latency_ms: 0,
    rate_limit: true,
    rate_limits: structuredClone(DEFAULT_BUCKET_LIMITS),
    registration_throttle: {per_client_id: 30, per_ip: 120},
    access_token_ttl: null,
    account_requests_per_ip_per_day: null,
    mint_scopes_drop: [],
    email_blocklist: [],
    empty_signup_scopes: 'ceiling',
    require_api_version: false,
  }
}

export function emptyCounters(): Counters {
  return {
    requests: {},
    grants: {authorization_code: 0, refresh_token: 0, 'provisioning:authorization_code': 0, 'provisioning:refresh_token': 0},
    revocations: 0,
    provisioning: {
      client_registrations: 0,
      account_requests: 0,
      accounts_created: 0,
      token_requests: {authorization_code: 0, refresh_token: 0, other: 0},
      resources_created: 0,
      rate_limited: 0,
    },
  }
}

export function createState(options: StateOptions = {}): MockState {
  const clock = options.now ?? Date.now
  const state: MockState = {
    apps: new Map(),
    users: new Map(),
    codes: new Map(),
    accessTokens: new Map(),
    refreshTokens: new Map(),
    revokedFamilies: new Set(),
    consents: new Map(),
    buckets: new Map(),
    throttleWindows: new Map(),
    projectLinks: new Map(),
    events: [],
    counters: emptyCounters(),
    config: defaultConfig(options),
    faults: [],
    now: () => clock() + state.clockOffsetMs,
    clockOffsetMs: 0,
    nextTeamId: 1,
    browserUserEmail: DEFAULT_USER_EMAIL,
  }
  seedDefaults(state)
  return state
}

/** The seeded world of issue 3 item 5: both wizard apps and the signed-in user dev@example.com. */
export function seedDefaults(state: MockState): void {
  for (const [region, clientId] of Object.entries(WIZARD_CLIENT_IDS)) {
    state.apps.set(clientId, {
      client_id: clientId,
      name: `PostHog Wizard (${region.toUpperCase()})`,
      redirect_uris: [...WIZARD_REDIRECT_URIS],
      scopes: [...WIZARD_APP_CEILING],
      optional_scopes: [],
      client_type: 'public',
      client_secret: undefined,
      first_party: false,
      provisioning: {active: true, can_create_accounts: true, can_provision_resources: true, issues_personal_api_key: true},
      registered_via: 'seed',
      blocked: false,
      sessions_revoked_at: undefined,
    })
  }
  addUser(state, {email: DEFAULT_USER_EMAIL, first_name: 'Dev', organization_name: 'Example Org'})
}

/** Empties everything (configuration included) and seeds again; the clock offset is kept. */
export function resetState(state: MockState, options: StateOptions): void {
  for (const collection of [state.apps, state.users, state.codes, state.accessTokens, state.refreshTokens, state.consents, state.buckets, state.throttleWindows, state.projectLinks]) collection.clear()
  state.revokedFamilies.clear()
  state.events.length = 0
  state.faults.length = 0
  state.counters = emptyCounters()
  state.config = defaultConfig(options)
  state.nextTeamId = 1
  state.browserUserEmail = DEFAULT_USER_EMAIL
  seedDefaults(state)
}

export function findApp(state: MockState, clientId: string | undefined): OAuthApp | undefined {
  return clientId ? state.apps.get(clientId) : undefined
}

/** The grantable set: `scopes` plus `optional_scopes`, deduplicated (posthog/models/oauth.py `ceiling_scopes`). */
export function ceilingOf(app: Pick<OAuthApp, 'scopes' | 'optional_scopes'>): string[] {
  return [...new Set([...app.scopes, ...app.optional_scopes])]
}

export function findUser(state: MockState, email: string | undefined): User | undefined {
  return email ? state.users.get(email.trim().toLowerCase()) : undefined
}

/** Creates a user with an organization and one team (project); an existing email is returned as is. */
export function addUser(
  state: MockState,
  input: {email: string; first_name?: string; organization_name?: string; project_name?: string; region?: 'US' | 'EU'; email_verified?: boolean},
): User {
  const existing = findUser(state, input.email)
  if (existing) return existing
  const email = input.email.trim()
  const firstName = input.first_name ?? email.split('@')[0] ?? email
  const organization: Organization = {id: randomUUID(), name: input.organization_name ?? `${firstName}'s organization`}
  const user: User = {uuid: randomUUID(), email, first_name: firstName, organization, teams: [], region: input.region, email_verified: input.email_verified ?? true}
  addTeam(state, user, input.project_name ?? 'Default project')
  state.users.set(email.toLowerCase(), user)
  return user
}

export function addTeam(state: MockState, user: User, name: string): Team {
  const team: Team = {id: state.nextTeamId++, name, organization_id: user.organization.id, api_token: randomApiKey()}
  user.teams.push(team)
  return team
}

/** Structured log line, readable by tests through control.events() (server.md section 3 asks for one). */
export function recordEvent(state: MockState, event: string, level: MockEvent['level'], fields: Record<string, unknown> = {}): MockEvent {
  const entry: MockEvent = {event, level, at: new Date(state.now()).toISOString(), ...fields}
  state.events.push(entry)
  return entry
}

export function countRequest(state: MockState, method: string, pathname: string): void {
  const key = `${method} ${pathname}`
  state.counters.requests[key] = (state.counters.requests[key] ?? 0) + 1
}

export function countGrant(state: MockState, grant: GrantCounter): void {
  state.counters.grants[grant] += 1
}

export function nowSeconds(state: MockState): number {
  return Math.floor(state.now() / 1000)
}

/** The team with this id, with its owner, wherever it lives (removed teams are gone). */
export function findTeam(state: MockState, teamId: number): {team: Team; user: User} | undefined {
  for (const user of state.users.values()) {
    const team = user.teams.find((candidate) => candidate.id === teamId)
    if (team) return {team, user}
  }
  return undefined
}
