import fs from 'node:fs'
import path from 'node:path'

import type {Deps} from '../deps.js'
import {ExitCode, UnexpectedError, UsageError} from '../errors.js'
import {MAX_STORED_FILE_BYTES} from '../fs-trust.js'
import type {Candidate} from '../select/choose.js'
import {parseSession} from '../session/session.js'
import {readVersionedFile} from '../session/versioned-file.js'
import {redact} from '../redact.js'
import type {Server} from '../select-server.js'
import {withSessionApp} from '../flows/check-scopes.js'
import {chooseFor, chooseServer} from '../flows/select-sessions.js'
import {checkBrowser, readProcVersion} from './checks/browser.js'
import {checkClock} from './checks/clock.js'
import {checkDeviceGrant} from './checks/device-grant.js'
import {checkFileModes} from './checks/file-modes.js'
import {checkKeychain} from './checks/keychain.js'
import {checkLocks} from './checks/locks.js'
import {checkPorts} from './checks/ports.js'
import {checkRuntime} from './checks/runtime.js'
import {checkScopePreflight} from './checks/scopes.js'
import {checkServer} from './checks/server.js'
import {checkSessions} from './checks/sessions.js'
import {checkEnvToken, checkStorageBackend} from './checks/storage.js'
import {fail, type Check, type CheckKind, type CheckResult, type DoctorContext, type DoctorJson, type DoctorOptions, type DoctorReport} from './types.js'

/**
 * The checks, in the order a login or a token depends on them. Later ones read what earlier ones
 * found (ctx.findings): the clock needs the server's answer, sessions need the store. File modes run
 * before anything reads the credentials file (reading it tightens a loose mode).
 */
const CHECKS: ReadonlyArray<{kind: CheckKind; id: string; run: Check}> = [
  {kind: 'runtime', id: 'runtime.node', run: checkRuntime},
  {kind: 'network', id: 'server', run: checkServer},
  {kind: 'runtime', id: 'clock.skew', run: checkClock},
  {kind: 'scope', id: 'scopes', run: checkScopePreflight},
  {kind: 'storage', id: 'storage.permissions', run: checkFileModes},
  {kind: 'storage', id: 'storage.backend', run: checkStorageBackend},
  {kind: 'storage', id: 'storage.keychain', run: checkKeychain},
  {kind: 'storage', id: 'storage.locks', run: checkLocks},
  {kind: 'storage', id: 'storage.env_token', run: checkEnvToken},
  {kind: 'session', id: 'sessions', run: checkSessions},
  {kind: 'login', id: 'login.ports', run: checkPorts},
  {kind: 'login', id: 'login.browser', run: checkBrowser},
  {kind: 'login', id: 'login.device_grant', run: checkDeviceGrant},
]

/** `onramp doctor`: runs every check in order; a check that throws becomes a failed result, never a crash. */
export async function runDoctor(deps: Deps, options: DoctorOptions): Promise<DoctorReport> {
  const ctx: DoctorContext = {
    deps,
    server: await doctorServer(deps, options),
    selection: options.selection,
    refresh: options.refresh ?? false,
    engines: options.engines,
    nodeVersion: options.nodeVersion ?? process.versions.node,
    platform: options.platform ?? process.platform,
    procVersion: options.procVersion ?? readProcVersion,
    keychainTimeoutMs: options.keychainTimeoutMs ?? 5000,
    serverTimeoutMs: options.serverTimeoutMs ?? 15_000,
    findings: {},
  }
  const checks: CheckResult[] = []
  for (const check of CHECKS) {
    let results: CheckResult[]
    try {
      results = await check.run(ctx)
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      results = [fail(check.kind, check.id, `the check itself failed: ${message.split('\n')[0]}`, 'run onramp doctor --verbose and report the log (onramp.log in the state folder)')]
    }
    for (const result of results.map(clean)) {
      checks.push(result)
      deps.logger.event('doctor.check', {id: result.id, status: result.status, summary: result.summary}, result.status === 'ok' ? 'debug' : 'info')
    }
  }
  return {checks, ok: checks.every((result) => result.status !== 'fail')}
}

/**
 * The server token and status would use (src/select/choose.ts): without --host, the server of the only
 * stored session rather than the default region. A session file open to others is only peeked at (the
 * store would tighten it before storage.permissions can report it); a store that cannot be read falls
 * back to the flags alone, and the storage checks report why.
 */
async function doctorServer(deps: Deps, options: DoctorOptions): Promise<Server> {
  try {
    if (looseStore(deps)) {
      const [{choose}, {findOnrampFile}, {readDefaults}] = await Promise.all([import('../select/choose.js'), import('../select/onramp-file.js'), import('../select/defaults.js')])
      const choice = choose({flags: options.selection, env: deps.env, file: findOnrampFile(deps.cwd), defaults: readDefaults(deps.paths.config), sessions: peekSessions(deps.paths.config)})
      return withSessionApp(deps, choice.server, choice.session)
    }
    const {choice} = await chooseFor(deps, options.selection)
    return withSessionApp(deps, choice.server, choice.session)
  } catch (error) {
    if (error instanceof UsageError) throw error
    deps.logger.event('doctor.selection_failed', {error: error instanceof Error ? error.message : String(error)}, 'debug')
  }
  try {
    // The flags, variables and .onramp.json alone (the store is read only when none names a server).
    return (await chooseServer(deps, options.selection)).server
  } catch (error) {
    if (error instanceof UsageError) throw error
    const {choose} = await import('../select/choose.js')
    return choose({flags: options.selection, env: deps.env, file: undefined, defaults: {server: null, accounts: {}}, sessions: []}).server
  }
}

const SESSION_FILES = ['credentials.json', 'sessions.json']

function looseStore(deps: Deps): boolean {
  if (process.platform === 'win32') return false
  return SESSION_FILES.some((name) => {
    try {
      return (fs.statSync(path.join(deps.paths.config, name)).mode & 0o077) !== 0
    } catch {
      return false
    }
  })
}

/**
 * What the session files say about which servers and accounts have sessions, read without changing them:
 * only files of ours that others may read but not write (as `token` would read them, after tightening);
 * anything else, or unreadable, counts as no session.
 */
function peekSessions(configDir: string): Candidate[] {
  const candidates: Candidate[] = []
  for (const name of SESSION_FILES) {
    const file = path.join(configDir, name)
    try {
      const stat = fs.lstatSync(file)
      if (!stat.isFile() || (stat.mode & 0o022) !== 0 || stat.uid !== process.getuid?.()) continue
      const read = readVersionedFile(file, {what: name, version: 1, maxBytes: MAX_STORED_FILE_BYTES.sessions, sizeFix: '', corrupt: (reason) => new UnexpectedError(reason)})
      for (const entry of Object.values(read?.sessions ?? {})) {
        try {
          // The session validator, with placeholder tokens (sessions.json holds none), as metadata.ts reads it.
          candidates.push(parseSession({...(entry as object), access_token: '-', refresh_token: null}))
        } catch {
          // an entry the store itself would refuse: no candidate
        }
      }
    } catch {
      // missing, not ours or unreadable: the storage checks say which
    }
  }
  return candidates
}

/** Text from servers and errors ends up in summaries: no control characters, nothing token-shaped. */
function clean(result: CheckResult): CheckResult {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  const scrub = (text: string) => redact(text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim())
  return {...result, summary: scrub(result.summary), fix: result.status === 'ok' ? null : scrub(result.fix ?? '')}
}

const EXIT_BY_KIND: Record<CheckKind, ExitCode> = {
  runtime: ExitCode.unexpected,
  login: ExitCode.unexpected,
  scope: ExitCode.scope,
  session: ExitCode.sessionExpired,
  network: ExitCode.network,
  storage: ExitCode.storageUnavailable,
}

/** 0 when nothing failed; otherwise the exit code of the first failed check's kind. */
export function doctorExitCode(report: DoctorReport): ExitCode {
  const first = report.checks.find((result) => result.status === 'fail')
  return first ? EXIT_BY_KIND[first.kind] : ExitCode.ok
}

/** The `--json` document: schemas/doctor.schema.json. */
export function doctorJson(report: DoctorReport): DoctorJson {
  return {checks: report.checks.map(({id, status, summary, fix}) => ({id, status, summary, fix})), ok: report.ok}
}
