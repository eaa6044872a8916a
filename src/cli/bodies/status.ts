import type {StatusResult} from '../../flows/status.js'
import {serverSelection, type BodyContext, type BodyFlags} from './context.js'

/** `onramp status`'s body, run by src/commands/status.ts and by the fast path. */
export async function statusBody(flags: BodyFlags, context: BodyContext): Promise<StatusResult> {
  const [{status}, {renderStatus}] = await Promise.all([import('../../flows/status.js'), import('../../render/status.js')])
  const result = await status(await context.deps(), serverSelection(flags))
  if (!context.json) context.out(renderStatus(result))
  return result
}
