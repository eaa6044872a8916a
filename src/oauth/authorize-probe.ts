import type {Fetch} from '../http.js'
import {serverText} from '../terminal-text.js'

/**
 * When the browser has not come back for a while: the authorization request as the browser sent it, once,
 * without following redirects. A server that refuses it outright (an error page or an empty 4xx
 * instead of a redirect to its login page) will never send the browser back: most often because it
 * does not accept the loopback redirect's port. Never decisive (a bot wall may refuse us and not the
 * browser): the flow only warns, and says it again if the wait times out.
 */
export interface AuthorizeRefusal {
  status: number
  /** The OAuth error (and description) the answer carried, terminal-safe; undefined when it had none. */
  said: string | undefined
  /** The answer was empty, or speaks of the redirect (redirect_uri, callback, port): the port is the likely cause. */
  aboutRedirect: boolean
}

export async function probeAuthorizationRequest(http: Fetch, url: URL): Promise<AuthorizeRefusal | undefined> {
  let response: Response
  try {
    response = await http(url.href, {redirect: 'manual', headers: {accept: 'text/html,application/json'}})
  } catch {
    return undefined // unreachable from here is the browser's business; it may still get through
  }
  if (response.status < 400 || response.status >= 500) {
    response.body?.cancel().catch(() => {})
    return undefined
  }
  let text = ''
  try {
    text = await response.text()
  } catch {
    // unreadable: judged as empty
  }
  return {status: response.status, said: oauthErrorIn(text), aboutRedirect: !text.trim() || /redirect|callback|\bport\b/i.test(text)}
}

/** `error` / `error_description` from a JSON body, or the title of an HTML page; undefined otherwise. */
function oauthErrorIn(text: string): string | undefined {
  if (!text.trim()) return undefined
  try {
    const body = JSON.parse(text) as {error?: unknown; error_description?: unknown; detail?: unknown}
    const error = typeof body.error === 'string' ? serverText(body.error) : undefined
    const description = typeof body.error_description === 'string' ? serverText(body.error_description) : typeof body.detail === 'string' ? serverText(body.detail) : undefined
    if (error || description) return [error, description].filter(Boolean).join(': ')
  } catch {
    // an HTML page: its title, if it names anything
  }
  const title = /<title[^>]*>([^<]{1,200})<\/title>/i.exec(text)?.[1]
  return title ? serverText(title) : undefined
}

/** The likely cause of a refused authorization request, and what to run instead. */
export function explainRefusal({refusal, redirectUri, clientId}: {refusal: AuthorizeRefusal | undefined; redirectUri: string; clientId: string}): string {
  const port = new URL(redirectUri).port
  const answer = refusal ? `HTTP ${refusal.status}${refusal.said ? ` (${refusal.said})` : ', no explanation'}` : undefined
  const aboutRedirect = !refusal || refusal.aboutRedirect
  const portCause =
    `the likely cause is that it does not accept the redirect to ${redirectUri} (port ${port}): RFC 8252 says any loopback port should work, ` +
    `but some servers accept only the ports registered for the client. Run onramp login --port N with a port registered for ${clientId}`
  if (!answer) return `If the browser showed an error page instead of coming back here, ${portCause}.`
  if (aboutRedirect) return `The server refused the authorization request before any login page (${answer}): ${portCause}.`
  return `The server refused the authorization request before any login page (${answer}): fix what it says, then run onramp login again.`
}
