import {appendFile} from 'node:fs/promises'

import {ExitCode, OnrampError, UsageError} from './errors.js'

/**
 * `--output-env FILE`: appends `NAME=value` lines, a format both GitHub Actions' `$GITHUB_ENV` and dotenv
 * readers (`dotenv` on npm, python-dotenv) read the same way. A value holding CR, LF or NUL is never
 * written: a heredoc would suit `$GITHUB_ENV`, but a dotenv reader would read the rest of such a value as
 * extra variables (`phc_a\nNODE_OPTIONS=...`). Nothing is written unless every value is safe. The file is
 * created 0600 when new: it holds API keys.
 */
export async function appendEnvFile(file: string, values: Record<string, string>): Promise<string[]> {
  const unsafe = unsafeEnvValues(values)
  if (unsafe.length > 0) throw new UnsafeEnvValueError(file, unsafe)
  let text = ''
  for (const [name, value] of Object.entries(values)) text += `${name}=${value}\n`
  try {
    await appendFile(file, text, {mode: 0o600})
  } catch (error) {
    throw new UsageError(`Cannot write --output-env ${file}: ${(error as Error).message}. Pass a path to a writable file (in GitHub Actions, "$GITHUB_ENV").`, {
      code: 'output_env_unwritable',
      cause: error,
    })
  }
  return Object.keys(values)
}

/**
 * The names whose value cannot be written as one unquoted line that `$GITHUB_ENV` and dotenv read alike:
 * CR, LF or NUL; also what dotenv would trim or unquote or cut (surrounding spaces, a leading quote, `#`).
 * A name that is not a variable name is refused too.
 */
export function unsafeEnvValues(values: Record<string, string>): string[] {
  return Object.entries(values)
    .filter(([name, value]) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || /[\r\n\0]/.test(value) || /^\s|\s$|^['"`]|#/.test(value))
    .map(([name]) => name)
}

/**
 * A value the server sent that cannot be written safely: the server's answer is unusable for this file
 * (exit 6, as any malformed answer). Nothing was appended.
 */
export class UnsafeEnvValueError extends OnrampError {
  readonly names: string[]
  constructor(file: string, names: string[]) {
    super(
      `Nothing was written to --output-env ${file}: the server's value of ${names.join(', ')} holds a line break or NUL character, which a dotenv reader would read as extra variables.`,
      {code: 'output_env_unsafe_value', exit: ExitCode.network},
    )
    this.names = names
  }
}

/**
 * --output-env could not be written after the project exists: exit 2 as the write error, carrying the
 * values so the command can show them on the terminal (never in a log or --json).
 */
export class EnvNotWrittenError extends OnrampError {
  readonly values: Record<string, string>
  constructor(cause: OnrampError, values: Record<string, string>) {
    super(cause.message, {code: cause.code, exit: cause.exit, cause})
    this.values = values
  }
}

/** The variables --output-env writes for a project (signup and projects), in GitHub Actions' `$GITHUB_ENV` format. */
export const PROJECT_ENV = {
  apiKey: 'POSTHOG_PROJECT_API_KEY',
  projectId: 'POSTHOG_PROJECT_ID',
  host: 'POSTHOG_HOST',
  personalApiKey: 'POSTHOG_PERSONAL_API_KEY',
} as const

export function projectEnv(project: {id: string; api_key: string; host: string; personal_api_key?: string | null | undefined}): Record<string, string> {
  return {
    [PROJECT_ENV.apiKey]: project.api_key,
    [PROJECT_ENV.projectId]: project.id,
    [PROJECT_ENV.host]: project.host,
    ...(project.personal_api_key ? {[PROJECT_ENV.personalApiKey]: project.personal_api_key} : {}),
  }
}
