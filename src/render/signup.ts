import type {SignupOutcome} from '../flows/signup.js'
import {terminalSafe} from '../terminal-text.js'
import {storageLine} from './session.js'

/**
 * The human summary of a signup: the account, where the project lives, its API key (the product's
 * output: a `phc_` project key, public by design, for the SDK), the session, and the email to verify.
 */
export function renderSignup(outcome: SignupOutcome, {outputEnv}: {outputEnv?: string | undefined} = {}): string {
  const {account, project, session} = outcome.result
  const email = terminalSafe(outcome.email)
  const lines = [
    outcome.newAccount ? `Created a PostHog account for ${email} (organization ${terminalSafe(account.id)}).` : `Authorized onramp for the existing account ${email}.`,
    `  Project:  ${terminalSafe(project.id)}, lives at ${terminalSafe(project.host)}`,
    `  API key:  ${terminalSafe(project.api_key)} (project key for the SDK: POSTHOG_PROJECT_API_KEY)`,
    session
      ? `  Session:  expires ${session.expires_at ?? 'when the server says'} (onramp token refreshes it)\n  Stored:   ${storageLine(session)}`
      : '  Session:  not stored (--no-store)',
    ...(outputEnv ? [`  Env file: appended POSTHOG_PROJECT_API_KEY, POSTHOG_PROJECT_ID, POSTHOG_HOST to ${outputEnv}`] : []),
    ...(outcome.newAccount ? [`Verify your email: PostHog sent a link to ${email}; the account must be verified to keep using it.`] : []),
    session ? 'Next: `onramp projects create --id ID` makes more projects; `onramp status` shows the session.' : '',
  ].filter(Boolean)
  return lines.join('\n') + '\n'
}
