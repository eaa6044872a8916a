import type {TokenResult} from '../flows/token.js'

/** stdout holds the token alone, so `TOKEN=$(onramp token)` works. */
export function renderToken(result: TokenResult): string {
  return `${result.access_token}\n`
}
