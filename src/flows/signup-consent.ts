import type {Deps} from '../deps.js'
import {NotLoggedInError, OnrampError, UnexpectedError} from '../errors.js'
import {awaitCallback} from '../oauth/await-callback.js'
import {listenLoopback, type CallbackListener} from '../oauth/loopback.js'
import type {AccountRequestResult} from '../provisioning/account-requests.js'
import {BUILTIN_CALLBACK_PORTS, CALLBACK_PATH} from '../select-server.js'
import {serverText} from '../terminal-text.js'
import {showAuthorizationUrl} from './authorization-url.js'

/**
 * Where the consent for an existing account sends its code: the app's FIRST registered redirect URI
 * (server.md 4.2 "Consent for existing users"). client_registration does not say which it is, so this
 * is the PostHog wizard app's (`http://localhost:8239/callback`), the one every mock and cloud app uses.
 */
export const SIGNUP_CONSENT_PORT = BUILTIN_CALLBACK_PORTS[0]!

type RequiresAuth = Extract<AccountRequestResult, {type: 'requires_auth'}> & {afterLostAnswer?: boolean}

/**
 * The email already has an account (`type:"requires_auth"`): its owner consents in the browser. Listens
 * on the redirect URI before the browser opens, accepts only a callback whose `state` is the consent
 * URL's, and returns the code (exchanged with the account request's verifier). Without a person at
 * the terminal, exit 3: `onramp login` reaches an existing account.
 */
export async function consentForExistingAccount(
  deps: Deps,
  {issuer, answer, email, timeoutSeconds}: {issuer: string; answer: RequiresAuth; email: string; timeoutSeconds: number},
): Promise<string> {
  const lost = answer.afterLostAnswer ? ' (the first signup attempt probably created it; its answer was lost)' : ''
  if (!deps.ui.interactive) {
    throw new NotLoggedInError(
      `${email} already has an account at ${issuer}${lost}. Its owner must authorize onramp in a browser, which a non-interactive run cannot open: ` +
        'run onramp login (or onramp signup on a terminal). No session was stored.',
      {code: 'account_exists', nextCommand: 'onramp login'},
    )
  }
  assertConsentOrigin(issuer, answer.url)
  const listener = await listenForConsent(deps, {issuer, state: answer.state})
  try {
    deps.logger.event('signup.consent', {issuer, redirect_uri: listener.redirectUri, request_id: answer.id}, 'info')
    // Login's own step: where no browser can open (SSH), the address the consent lands on may be pasted here.
    const paste = await showAuthorizationUrl(deps, {
      url: answer.url,
      redirectUri: listener.redirectUri,
      browser: true,
      command: 'onramp signup',
      intro: `${email} already has an account${lost}. Authorize onramp for it in your browser`,
    })
    const callback = await awaitCallback({listener, timeoutSeconds, paste: paste ? deps.ui : undefined})
    const error = callback.get('error')
    if (error) {
      const description = callback.get('error_description')
      throw new NotLoggedInError(
        `The consent for ${email} was not given (${serverText(error)}${description ? `: ${serverText(description)}` : ''}); nothing was stored. Run onramp signup again, or onramp login.`,
        {code: error === 'access_denied' ? 'access_denied' : 'consent_failed', nextCommand: 'onramp login'},
      )
    }
    const code = callback.get('code')
    if (!code) throw new UnexpectedError('The consent redirect carried no code; nothing was stored. Run onramp signup again.', {code: 'no_code'})
    return code
  } finally {
    await listener.close()
  }
}

/** PostHog Cloud's regions: a request sent to one is answered with a consent URL on the user's own region host. */
const POSTHOG_CLOUD_ORIGINS = ['https://us.posthog.com', 'https://eu.posthog.com']

/**
 * The consent URL is opened in the browser, where the user is logged in: it must be on the issuer's own
 * origin (for PostHog Cloud, one of its regions), never wherever the server's answer points.
 */
export function assertConsentOrigin(issuer: string, consentUrl: string): void {
  const issuerOrigin = new URL(issuer).origin
  const origin = new URL(consentUrl).origin
  const allowed = POSTHOG_CLOUD_ORIGINS.includes(issuerOrigin) ? [issuerOrigin, ...POSTHOG_CLOUD_ORIGINS] : [issuerOrigin]
  if (allowed.includes(origin)) return
  throw new UnexpectedError(
    `${issuer} answered with a consent URL on ${serverText(origin)}, not on its own origin (${issuerOrigin}), so onramp did not open it: the consent for your account ` +
      `must be given on the server you sign up with, never on a page another site chose. Nothing was stored. Check --host; onramp login also reaches an existing account.`,
    {code: 'consent_url_refused', nextCommand: 'onramp login'},
  )
}

async function listenForConsent(deps: Deps, {issuer, state}: {issuer: string; state: string}): Promise<CallbackListener> {
  try {
    return await listenLoopback({host: 'localhost', ports: [SIGNUP_CONSENT_PORT], path: CALLBACK_PATH, expectedState: state, expectedIssuer: issuer, logger: deps.logger, onProblem: (message) => deps.ui.warn(message)})
  } catch (error) {
    if (!(error instanceof OnrampError)) throw error
    throw new OnrampError(
      `Port ${SIGNUP_CONSENT_PORT} on localhost is in use or not allowed (${error.code}), and the consent for an existing account can only come back there ` +
        `(http://localhost:${SIGNUP_CONSENT_PORT}${CALLBACK_PATH}, the app's registered redirect). Close the program using it and run onramp signup again, or run onramp login.`,
      {code: error.code, exit: error.exit, nextCommand: 'onramp login', cause: error},
    )
  }
}
