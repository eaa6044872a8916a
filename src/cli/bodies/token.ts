import type {TokenResult} from '../../flows/token.js'
import {serverSelection, type BodyContext, type BodyFlags} from './context.js'

/**
 * `onramp token`'s body, run by src/commands/token.ts and by the fast path: stdout holds the token
 * alone unless --json. Flows load on call (nothing heavy before argv is known).
 */
export async function tokenBody(flags: BodyFlags, context: BodyContext): Promise<TokenResult> {
  const [{token}, {renderToken}, {REFRESH_MARGIN_SECONDS}] = await Promise.all([import('../../flows/token.js'), import('../../render/session.js'), import('../../session/session.js')])
  const minValidSeconds = typeof flags['min-valid'] === 'number' ? flags['min-valid'] : REFRESH_MARGIN_SECONDS
  const result = await token(await context.deps(), {...serverSelection(flags), minValidSeconds})
  if (!context.json) context.out(renderToken(result))
  return result
}
