import type {OnrampError} from '../errors.js'
import {redact} from '../redact.js'

/**
 * OnrampCommand.catch for the fast path, without @oclif/core: `{error:{code,message,exit,next_command?}}`
 * on stdout under --json, else `Error: ...` and `Next: ...` on stderr; the exit code is the error's.
 * test/e2e/fast-path-matches-oclif.test.ts holds the two to the same output. Once the renderers live in
 * src/render/ (error.ts: renderError and the JSON error document), this file becomes two imports from there.
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
