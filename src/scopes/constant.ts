/**
 * THE scope constant: the one list of scopes onramp asks for, on which surface, and why.
 * Every other scope list in the code derives from it (LOGIN_SCOPES, SIGNUP_SCOPES, the required subsets),
 * so login and signup cannot drift apart and a change here fails the pinned tests loudly.
 * The entries follow what PostHog's own wizard requests (user:read project:read llm_gateway:read dashboard:write
 * insight:write query:read notebook:write event_definition:write for signup; health_issue:read, wizard_session:*
 * and organization:read on login only), each with what breaks without it.
 */

/** Where a scope is requested: `login` (PKCE in the browser) or `signup` (agentic provisioning). */
export type Surface = 'login' | 'signup'
export const SURFACES: readonly Surface[] = ['login', 'signup']

export interface ScopeEntry {
  /** `object:action`, action `read` or `write`. */
  readonly scope: string
  /** What breaks for the user without it. */
  readonly why: string
  /** Surfaces that request it. */
  readonly surfaces: readonly Surface[]
  /** Surfaces on which a grant without it is useless: preflight stops (exit 4) instead of warning. */
  readonly required: readonly Surface[]
}

const BOTH: readonly Surface[] = ['login', 'signup']
const LOGIN_ONLY: readonly Surface[] = ['login']
const NONE: readonly Surface[] = []

export const SCOPES: readonly ScopeEntry[] = [
  {
    scope: 'user:read',
    why: 'identify who is signed in (email, region); without it `onramp status` cannot say whose session it is and GET /api/users/@me/ answers 403',
    surfaces: BOTH,
    required: BOTH,
  },
  {
    scope: 'project:read',
    why: 'list the projects to pick the one to integrate; without it there is no project id and every project API call answers 403',
    surfaces: BOTH,
    required: BOTH,
  },
  {
    scope: 'llm_gateway:read',
    why: 'the setup agent calls the LLM gateway; without it the gateway answers 401 mid-setup (privileged: never advertised, granted only through the app ceiling)',
    surfaces: BOTH,
    required: BOTH,
  },
  {
    scope: 'dashboard:write',
    why: 'create the starter dashboard after integration; without it setup ends with no dashboard and a 403',
    surfaces: BOTH,
    required: BOTH,
  },
  {
    scope: 'insight:write',
    why: 'create the starter insights on that dashboard; without it the dashboard stays empty and the call answers 403',
    surfaces: BOTH,
    required: BOTH,
  },
  {
    scope: 'query:read',
    why: 'run a query to verify that events arrive; without it setup cannot confirm the integration works',
    surfaces: BOTH,
    required: BOTH,
  },
  {
    scope: 'notebook:write',
    why: 'write the setup notebook with next steps; without it that notebook is skipped (optional)',
    surfaces: BOTH,
    required: NONE,
  },
  {
    scope: 'event_definition:write',
    why: 'mark the integration events as verified; without it the setup refuses to finish',
    surfaces: BOTH,
    required: BOTH,
  },
  {
    scope: 'health_issue:read',
    why: 'read ingestion health issues after setup; without it problems are not reported (optional, login only)',
    surfaces: LOGIN_ONLY,
    required: NONE,
  },
  {
    scope: 'wizard_session:read',
    why: 'resume an interrupted setup session; without it setup starts over (hidden: never advertised; login only)',
    surfaces: LOGIN_ONLY,
    required: NONE,
  },
  {
    scope: 'wizard_session:write',
    why: 'record setup progress so it can be resumed; without it progress is lost on exit (hidden: never advertised; login only)',
    surfaces: LOGIN_ONLY,
    required: NONE,
  },
  {
    scope: 'organization:read',
    why: 'show and pick the organization; without it users in several organizations cannot choose (optional, login only)',
    surfaces: LOGIN_ONLY,
    required: NONE,
  },
]

const onSurface = (surface: Surface, pick: (entry: ScopeEntry) => readonly Surface[]): readonly string[] =>
  Object.freeze(SCOPES.filter((entry) => pick(entry).includes(surface)).map((entry) => entry.scope))

export const LOGIN_SCOPES = onSurface('login', (entry) => entry.surfaces)
export const SIGNUP_SCOPES = onSurface('signup', (entry) => entry.surfaces)
export const REQUIRED_LOGIN_SCOPES = onSurface('login', (entry) => entry.required)
export const REQUIRED_SIGNUP_SCOPES = onSurface('signup', (entry) => entry.required)

export function scopesFor(surface: Surface): readonly string[] {
  return surface === 'login' ? LOGIN_SCOPES : SIGNUP_SCOPES
}

export function requiredScopesFor(surface: Surface): readonly string[] {
  return surface === 'login' ? REQUIRED_LOGIN_SCOPES : REQUIRED_SIGNUP_SCOPES
}

// What PostHog never advertises in scopes_supported (privileged llm_gateway:*, and the hidden objects). RFC 8414 calls
// scopes_supported advisory; PostHog grants these through an app's ceiling but never lists them.

/** Admin-granted only: never in scopes_supported. */
export const PRIVILEGED_SCOPES: readonly string[] = ['llm_gateway:read', 'llm_gateway:write']
/** Objects whose scopes are hidden from scopes_supported. */
export const HIDDEN_SCOPE_OBJECTS: readonly string[] = ['wizard_session', 'query_performance', 'batch_import_support']
/** OpenID Connect scopes (OIDC Core 5.4) and offline_access: valid scope names that are not object:action. */
export const OIDC_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'offline_access']
/** Request-time scopes: servers often do not echo them in the token's `scope`, so never count them missing. */
export const REQUEST_TIME_SCOPES: readonly string[] = ['openid', 'offline_access']

export type NeverAdvertisedReason = 'privileged' | 'hidden'

/** Why a server will not list this scope in scopes_supported, or undefined when it should. */
export function neverAdvertisedReason(scope: string): NeverAdvertisedReason | undefined {
  if (PRIVILEGED_SCOPES.includes(scope)) return 'privileged'
  const object = scope.split(':')[0] ?? ''
  if (HIDDEN_SCOPE_OBJECTS.includes(object)) return 'hidden'
  return undefined
}

export function isNeverAdvertised(scope: string): boolean {
  return neverAdvertisedReason(scope) !== undefined
}

const SCOPE_SYNTAX = /^[a-z][a-z0-9_]*:(read|write)$/

/** `object:action` with action read|write, or a known OIDC scope. */
export function isWellFormedScope(scope: string): boolean {
  return SCOPE_SYNTAX.test(scope) || OIDC_SCOPES.includes(scope)
}

/** Splits an RFC 6749 section 3.3 scope string (space-delimited) into a de-duplicated list. */
export function parseScopeString(value: string): string[] {
  return [...new Set(value.split(/\s+/).filter(Boolean))]
}

/** Accepted by the server whatever an app's ceiling says (server.md section 2, ALWAYS_ALLOWED). */
export const ALWAYS_ALLOWED_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'introspection']
