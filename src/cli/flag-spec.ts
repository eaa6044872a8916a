/**
 * The flags of the hot commands as plain data: the ONE definition that both the oclif flags
 * (src/cli/flags.ts) and the fast path's parser (src/fast/parse.ts) derive from, so the two cannot
 * drift; test/unit/fast-path-flags-match-oclif.test.ts checks every oclif flag of the hot commands
 * against these (OnrampCommand's --verbose included). No imports: the fast path loads this without oclif.
 * Only what both sides understand can be said here: a boolean (default false, no `--no-`, no env)
 * or a single-valued string (optionally limited to `options`, optionally read from `env`).
 */
export type FlagSpec =
  | {readonly kind: 'boolean'; readonly description: string; readonly helpGroup?: string}
  | {
      readonly kind: 'string'
      readonly description: string
      readonly helpGroup?: string
      readonly env?: string
      readonly options?: readonly string[]
    }

export type FlagSpecs = Readonly<Record<string, FlagSpec>>

/**
 * Flags that select the server, shared by every command that talks to one (client.md "Selecting the server").
 * Their environment variables (ONRAMP_REGION, ONRAMP_HOST, ONRAMP_CLIENT_ID) are a level of their own in
 * the one selection (src/select/choose.ts: flags > environment > .onramp.json > onramp switch > the only
 * session), so they are not oclif `env` fields: a typed flag must be told apart from a variable.
 */
export const SERVER_FLAG_SPECS = {
  region: {
    kind: 'string',
    options: ['us', 'eu'],
    description: 'PostHog Cloud region (default us; env ONRAMP_REGION).',
    helpGroup: 'SERVER',
  },
  host: {
    kind: 'string',
    description: 'Any OAuth issuer / base URL; overrides --region. http:// only for loopback hosts (env ONRAMP_HOST).',
    helpGroup: 'SERVER',
  },
  'client-id': {
    kind: 'string',
    description: 'OAuth client id (defaults to the PostHog wizard app on the built-in regions; env ONRAMP_CLIENT_ID).',
    helpGroup: 'SERVER',
  },
} as const satisfies FlagSpecs

/** The account a command that uses a stored session acts as (env ONRAMP_ACCOUNT; see SERVER_FLAG_SPECS). */
export const ACCOUNT_FLAG_SPECS = {
  account: {
    kind: 'string',
    description: 'The account (email) whose session to use, when several are logged in to the server (env ONRAMP_ACCOUNT).',
    helpGroup: 'SERVER',
  },
} as const satisfies FlagSpecs

/** The server flags and --account: every command that uses a stored session. */
export const SESSION_FLAG_SPECS = {...SERVER_FLAG_SPECS, ...ACCOUNT_FLAG_SPECS} as const satisfies FlagSpecs

/** On every onramp command: OnrampCommand.baseFlags (checked by the test above). `--json` is oclif's own (enableJsonFlag). */
export const BASE_FLAG_SPECS = {
  verbose: {kind: 'boolean', description: 'Echo the debug log (redacted) to stderr.', helpGroup: 'GLOBAL'},
} as const satisfies FlagSpecs

/** The `--json` flag oclif adds to every command with enableJsonFlag: the fast path parses it the same way. */
export const JSON_FLAG_SPEC = {json: {kind: 'boolean', description: 'Format output as json.', helpGroup: 'GLOBAL'}} as const satisfies FlagSpecs
