import type {Deps} from '../deps.js'
import type {Server, ServerSelection} from '../select-server.js'
import type {ServerMetadata} from '../oauth/discovery.js'
import type {SessionStore} from '../session/store.js'

/** ok: nothing to do; warn: works, but something will bite; fail: a login or token will fail. */
export type CheckStatus = 'ok' | 'warn' | 'fail'

/** What a failure is about: decides the exit code of `onramp doctor` (client.md "Exit codes"). */
export type CheckKind = 'runtime' | 'network' | 'scope' | 'session' | 'storage' | 'login'

export interface CheckResult {
  /** Stable, dotted: `server.discovery`, `storage.locks`, `sessions.<issuer>#<client id>#<account>[#signup]`... */
  id: string
  status: CheckStatus
  /** One line of evidence. */
  summary: string
  /** For anything not ok: the exact fix (a command, a variable, a file mode); null when ok. */
  fix: string | null
  kind: CheckKind
}

export interface DoctorOptions {
  selection: ServerSelection
  /** `--refresh`: also spend each session's refresh token to prove it still works. Never otherwise. */
  refresh?: boolean
  /** package.json `engines.node`, e.g. `>=20.18.1`. */
  engines?: string | undefined
  nodeVersion?: string
  platform?: NodeJS.Platform
  /** /proc/version (WSL detection); injectable for tests. */
  procVersion?: () => string | undefined
  /** How long the keychain round trip may take before it counts as hung. */
  keychainTimeoutMs?: number
  /** Deadline for the discovery request (all retries included). */
  serverTimeoutMs?: number
}

/** What the checks learn and hand down the line (later checks read what earlier ones found). */
export interface DoctorFindings {
  /** Set by the proxy check when the proxy that applies cannot be reached. */
  proxyUnreachable?: string
  /** Set by the discovery check. */
  discovery?:
    | {ok: true; metadata: ServerMetadata; ms: number; date: string | null; receivedAt: Date}
    | {ok: false; reason: string}
  /** Set by the discovery check when the issuer's port is one fetch refuses (1, 25, 6000...): nothing there can be measured. */
  badPort?: string
  /** Set by the storage check: the store the sessions check reads, or why there is none. */
  store?: {ok: true; store: SessionStore} | {ok: false; reason: string}
  /** The keychain round trip (in a child process, with the doctor's environment): run once, read by both storage checks. */
  keychain?: Promise<{outcome: true | string; ms: number}>
}

export interface DoctorContext {
  deps: Deps
  server: Server
  selection: ServerSelection
  refresh: boolean
  engines: string | undefined
  nodeVersion: string
  platform: NodeJS.Platform
  procVersion: () => string | undefined
  keychainTimeoutMs: number
  serverTimeoutMs: number
  findings: DoctorFindings
}

export type Check = (ctx: DoctorContext) => Promise<CheckResult[]>

export interface DoctorReport {
  checks: CheckResult[]
  ok: boolean
}

/** The `--json` document (schemas/doctor.schema.json): no `kind`, fix null when ok. */
export interface DoctorJson {
  checks: Array<Pick<CheckResult, 'id' | 'status' | 'summary' | 'fix'>>
  ok: boolean
}

export const ok = (kind: CheckKind, id: string, summary: string): CheckResult => ({id, status: 'ok', summary, fix: null, kind})
export const warn = (kind: CheckKind, id: string, summary: string, fix: string): CheckResult => ({id, status: 'warn', summary, fix, kind})
export const fail = (kind: CheckKind, id: string, summary: string, fix: string): CheckResult => ({id, status: 'fail', summary, fix, kind})

/** POSIX shell quoting for paths in a fix the user will paste. */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`
}

/** The login command for a host, so a fix can be pasted as-is. */
export function loginCommand(issuer: string, region: string | null): string {
  if (region === 'us' || (region === null && issuer === 'https://us.posthog.com')) return 'onramp login'
  if (region === 'eu' || issuer === 'https://eu.posthog.com') return 'onramp login --region eu'
  return `onramp login --host ${shellQuote(issuer)}`
}
