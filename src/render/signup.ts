import type {SignupOutcome} from '../flows/signup.js'
import {serverText} from '../terminal-text.js'
import {storageLine} from './session.js'

/**
 * The human summary of a signup: the account, where the project lives, its API key (the product's
 * output: a `phc_` project key, public by design, for the SDK), the session, and the email to verify.
 */
export function renderSignup(outcome: SignupOutcome, {outputEnv}: {outputEnv?: string | undefined} = {}): string {
  const {account, project, session} = outcome.result
  const email = serverText(outcome.email)
  const lines = [
    outcome.newAccount ? `Created a PostHog account for ${email} (organization ${serverText(account.id)}).` : `Authorized onramp for the existing account ${email}.`,
    `  Project:  ${serverText(project.id)}, lives at ${serverText(project.host)}`,
    `  API key:  ${serverText(project.api_key)} (project key for the SDK: POSTHOG_PROJECT_API_KEY)`,
    session
      ? `  Session:  expires ${session.expires_at ?? 'when the server says'} (onramp token refreshes it)\n  Stored:   ${storageLine(session)}`
      : '  Session:  not stored (--no-store)',
    ...(outputEnv ? [`  Env file: appended POSTHOG_PROJECT_API_KEY, POSTHOG_PROJECT_ID, POSTHOG_HOST to ${outputEnv}`] : []),
    ...(outcome.newAccount ? [`Verify your email: PostHog sent a link to ${email}; the account must be verified to keep using it.`] : []),
    session ? 'Next: `onramp projects create --id ID` makes more projects; `onramp status` shows the session.' : '',
  ].filter(Boolean)
  return lines.join('\n') + '\n'
}
