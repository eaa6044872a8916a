import {ExitCode} from '../../errors.js'
import type {ScopeCheckReport} from '../../flows/check-scopes.js'
import type {ScopesDescription} from '../../flows/describe-scopes.js'
import {serverSelection, type BodyContext, type BodyFlags} from './context.js'

/**
 * `onramp scopes`'s body, run by src/commands/scopes.ts and by the fast path (which parses no --check:
 * that command line goes to oclif). Exit 4 when --check finds a required scope refused.
 */
export async function scopesBody(flags: BodyFlags, context: BodyContext): Promise<ScopesDescription | ScopeCheckReport> {
  if (flags.check === true) {
    const [{checkScopes}, {renderScopeCheck}] = await Promise.all([import('../../flows/check-scopes.js'), import('../../render/scopes.js')])
    const report = await checkScopes(await context.deps(), serverSelection(flags))
    if (!context.json) context.out(renderScopeCheck(report))
    if (!report.ok) process.exitCode = ExitCode.scope
    return report
  }
  const [{describeScopes}, {renderScopesTable}] = await Promise.all([import('../../flows/describe-scopes.js'), import('../../render/scopes.js')])
  const description = describeScopes()
  if (!context.json) context.out(renderScopesTable(description))
  return description
}
