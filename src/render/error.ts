import type {OnrampError} from '../errors.js'
import {redact} from '../redact.js'
import {terminalSafe} from '../terminal-text.js'

/** An error for a person: what happened, then the command that fixes it. */
export function renderError(error: OnrampError): string {
  const lines = [`Error: ${terminalSafe(redact(error.message))}`]
  if (error.nextCommand) lines.push(`Next: run \`${error.nextCommand}\``)
  return lines.join('\n') + '\n'
}
