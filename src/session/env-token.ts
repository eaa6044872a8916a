import {rememberSecret} from '../redact.js'

/** ONRAMP_TOKEN when set and not blank: used as-is by `token` and `status`, never stored or refreshed. */
export function envToken(env: NodeJS.ProcessEnv): string | undefined {
  const token = env.ONRAMP_TOKEN?.trim()
  rememberSecret(token)
  return token ? token : undefined
}
