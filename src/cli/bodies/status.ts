import type {StatusResult} from '../../flows/status.js'
import {serverSelection, type BodyContext, type BodyFlags} from './context.js'

/** `onramp status`'s body, run by src/commands/status.ts and by the fast path. */
export async function statusBody(flags: BodyFlags, context: BodyContext): Promise<StatusResult> {
  const [{status}, {renderStatus}] = await Promise.all([import('../../flows/status.js'), import('../../render/status.js')])
  const deps = await context.deps()
  const result = await status(deps, serverSelection(flags))
  if (!context.json) {
    const {adviseStorage} = await import('../../session/notices.js')
    context.out(renderStatus(result, new Date(), (session) => adviseStorage(deps.paths, session.storage)))
  }
  return result
}
