import {randomBytes} from 'node:crypto'
import {appendFile} from 'node:fs/promises'

import {UsageError} from './errors.js'

/**
 * `--output-env FILE`: appends `NAME=value` lines in the format of GitHub Actions' `$GITHUB_ENV` (and
 * dotenv), so a CI step can export what onramp printed. A value with a newline uses the heredoc form
 * `NAME<<DELIMITER` ... `DELIMITER` with a random delimiter, as GitHub documents for multiline values.
 * The file is created 0600 when new: it holds API keys.
 */
export async function appendEnvFile(file: string, values: Record<string, string>): Promise<void> {
  let text = ''
  for (const [name, value] of Object.entries(values)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`"${name}" is not a valid environment variable name.`)
    if (value.includes('\n') || value.includes('\r')) {
      const delimiter = `ONRAMP_EOF_${randomBytes(8).toString('hex')}`
      text += `${name}<<${delimiter}\n${value}\n${delimiter}\n`
    } else {
      text += `${name}=${value}\n`
    }
  }
  try {
    await appendFile(file, text, {mode: 0o600})
  } catch (error) {
    throw new UsageError(`Cannot write --output-env ${file}: ${(error as Error).message}. Pass a path to a writable file (in GitHub Actions, "$GITHUB_ENV").`, {
      code: 'output_env_unwritable',
      cause: error,
    })
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
