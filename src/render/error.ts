import type {OnrampError} from '../errors.js'
import {redact} from '../redact.js'
import {terminalSafe} from '../terminal-text.js'

/** An error for a person: what happened, then the command that fixes it. */
export function renderError(error: OnrampError): string {
  const lines = [`Error: ${terminalSafe(redact(error.message))}`]
  if (error.nextCommand) lines.push(`Next: run \`${error.nextCommand}\``)
  return lines.join('\n') + '\n'
}

/** One JSON error document on stdout under --json, else `Error:`/`Next:` on stderr: for commands, hooks and the fast path. */
export function writeErrorDocument(error: OnrampError, {json}: {json: boolean}): void {
  if (json) {
    const body = error.toJSON()
    process.stdout.write(JSON.stringify({error: {...body, message: redact(body.message)}}, null, 2) + '\n')
  } else {
    process.stderr.write(renderError(error))
  }
}
