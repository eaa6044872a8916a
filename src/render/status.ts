import type {StatusResult} from '../flows/status.js'
import {renderSessionBlock} from './session.js'

export function renderStatus(result: StatusResult): string {
  return result.sessions.map(renderSessionBlock).join('\n\n') + '\n'
}
