import type {SignupOutcome} from '../flows/signup.js'
import {serverText} from '../terminal-text.js'
import {storageLine} from './session.js'

/**
 * The human summary of a signup: the account, where the project lives, its API key (the product's
 * output: a `phc_` project key, public by design, for the SDK) and the personal API key when the server
 * issued one (handing it out is this command's job), the session, the env file with every variable
 * named, and the email to verify.
 */
export function renderSignup(outcome: SignupOutcome, {advise = true}: {advise?: boolean} = {}): string {
  const {account, project, session, env_file: envFile, tokens_revoked: revoked} = outcome.result
  const email = serverText(outcome.email)
  const organization = account.id ? ` (organization ${serverText(account.id)})` : ''
  const lines = [
    outcome.newAccount ? `Created a PostHog account for ${email}${organization}.` : `Authorized onramp for the existing account ${email}${organization}.`,
    `  Project:  ${serverText(project.id)}, lives at ${serverText(project.host)}`,
    `  API key:  ${serverText(project.api_key)} (project key for the SDK: POSTHOG_PROJECT_API_KEY)`,
    ...(project.personal_api_key ? [`  Personal API key: ${serverText(project.personal_api_key)} (phx_, acts as you within the granted scopes: keep it secret)`] : []),
    session
      ? `  Session:  expires ${session.expires_at ?? 'when the server says'} (onramp token refreshes it)\n  Stored:   ${storageLine(session, {advise})}`
      : `  Session:  not stored (--no-store)${revoked ? '; its tokens were revoked, which also ends any other session of this account with this app' : ''}`,
    ...(session && !session.verified ? [`  Scopes:   NOT confirmed (${serverText(session.unverified_reason ?? 'unknown')}): kept as requested`] : []),
    ...(envFile ? [`  Env file: appended ${envFile.variables.join(', ')} to ${envFile.path}`] : []),
    ...(outcome.newAccount ? [`Verify your email: PostHog sent a link to ${email}; the account must be verified to keep using it.`] : []),
    session ? 'Next: `onramp projects create --id ID` makes more projects; `onramp status` shows the session.' : '',
  ].filter(Boolean)
  return lines.join('\n') + '\n'
}
