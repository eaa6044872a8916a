import {ScopeError} from '../errors.js'
import type {Logger} from '../log.js'
import {serverText} from '../terminal-text.js'
import type {Surface} from './constant.js'

/**
 * Every scope refusal ends here: logged as `oauth.invalid_scope` (requested, advertised and missing
 * scopes, client id, host) and shown as one error naming each missing scope and who can fix it.
 */
export interface InvalidScopeReport {
  source: 'preflight' | 'authorize' | 'token' | 'grant' | 'provisioning' | 'ceiling'
  surface: Surface
  issuer: string
  clientId: string
  requested: readonly string[]
  /** The required part of `requested`: marks each missing scope required or optional. */
  required: readonly string[]
  advertised: readonly string[] | null
  /** The app's ceiling when it was read. */
  ceiling?: readonly string[] | null
  missing: readonly string[]
  serverSaid?: string | undefined
  /** What happened to the request, for the last sentence; "Nothing was stored." by default. */
  outcome?: string
  /** Who can fix it and how, when not the server's admins widening the app's ceiling (a self-registered client). */
  fix?: string
}

const WHY: Record<InvalidScopeReport['source'], string> = {
  preflight: 'does not advertise',
  authorize: 'refused (at authorization)',
  token: 'refused (at the token endpoint)',
  grant: 'did not grant',
  provisioning: 'refused (for provisioning)',
  ceiling: "keeps outside this app's ceiling",
}

export function invalidScope(logger: Logger, report: InvalidScopeReport): ScopeError {
  logger.event(
    'oauth.invalid_scope',
    {
      source: report.source,
      surface: report.surface,
      host: report.issuer,
      client_id: report.clientId,
      requested_scopes: report.requested,
      advertised_scopes: report.advertised,
      ceiling: report.ceiling ?? null,
      missing_scopes: report.missing,
      server_error_description: report.serverSaid,
    },
    'warn',
  )
  const named =
    report.missing.length > 0
      ? report.missing.map((scope) => `  - ${scope} (${report.surface}, ${report.required.includes(scope) ? 'required' : 'optional'})`).join('\n')
      : '  (the server did not say which)'
  const said = report.serverSaid ? `\nThe server said: ${serverText(report.serverSaid)}` : ''
  return new ScopeError(
    `${report.issuer} ${WHY[report.source]} these scopes that onramp ${report.surface} asks for:\n${named}${said}\n` +
      (report.fix ??
        `The scopes an app may receive (its ceiling) are set by the server's admins: ask them to allow these scopes for client ${report.clientId}` +
          ', or pass --scopes to request fewer.') +
      ` ${report.outcome ?? 'Nothing was stored.'}`,
    {missing: report.missing},
  )
}

/** Scope names quoted in a server's error_description that we asked for (best effort). */
export function scopesNamedIn(description: string | undefined, requested: readonly string[]): string[] {
  if (!description) return []
  return requested.filter((scope) => description.includes(scope))
}
