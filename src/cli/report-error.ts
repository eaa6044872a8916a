import type {OnrampError} from '../errors.js'
import {redact} from '../redact.js'

/**
 * How a command failure reaches the user (client.md "Exit codes"): `{error:{code,message,exit,next_command?}}`
 * on stdout under --json, else `Error: ...` and `Next: ...` on stderr; the exit code is the error's.
 * Shared by OnrampCommand.catch and the fast path (src/fast/), so both fail the same way. No oclif import.
 */
export function reportError(error: OnrampError, {json}: {json: boolean}): void {
  if (json) {
    const body = error.toJSON()
    process.stdout.write(JSON.stringify({error: {...body, message: redact(body.message)}}, null, 2) + '\n')
  } else {
    process.stderr.write(renderError(error))
  }
  process.exitCode = error.exit
}

export function renderError(error: OnrampError): string {
  const lines = [`Error: ${redact(error.message)}`]
  if (error.nextCommand) lines.push(`Next: run \`${error.nextCommand}\``)
  return lines.join('\n') + '\n'
}
