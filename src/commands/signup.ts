import {Flags} from '@oclif/core'

import {OnrampCommand} from '../cli/base-command.js'
import {outputEnvFlag, serverFlags} from '../cli/flags.js'
import type {SignupResult} from '../flows/signup.js'
import type {Ui} from '../ui.js'

/** How long an interactive signup waits for the owner of an existing account to consent. */
const CONSENT_TIMEOUT_SECONDS = 300

export default class Signup extends OnrampCommand {
  static override summary = 'Create a PostHog account and project from the terminal, and store its session.'
  static override description =
    "Checks the app's provisioning flags and scope ceiling before anything is created, requests the account (agentic provisioning, PKCE), " +
    'reads back the scopes the token really got, stores the session and provisions the project, printing its API key. ' +
    'An email that already has an account needs its owner to consent in a browser (interactive runs only; otherwise exit 3: use onramp login). ' +
    'Non-interactive (--non-interactive, no TTY or CI set): never prompts, never opens a browser. ' +
    'With --json, session is null when --no-store kept nothing. ' +
    'Exit codes: 2 a missing or invalid email, an app the server does not know, an unwritable --output-env (nothing requested); ' +
    '3 the email has an account and no browser may be used, or the consent was denied; ' +
    '4 the app may not create accounts, a required scope is outside its ceiling (no account requested), or the server refused or under-minted the scopes after creating the account (nothing kept); ' +
    '6 rate limited (with when to retry), server failure or an unreadable answer; 7 secure storage required but unavailable.'
  static override examples = [
    '<%= config.bin %> signup',
    '<%= config.bin %> signup --email me@example.com --non-interactive --json',
    '<%= config.bin %> signup --email ci@example.com --no-store --output-env "$GITHUB_ENV"',
  ]

  static override flags = {
    ...serverFlags,
    email: Flags.string({description: 'Email of the new account (prompted for when interactive).'}),
    name: Flags.string({description: 'Your name (its first word becomes the first name).'}),
    'org-name': Flags.string({description: 'Organization name (default: chosen by the server).'}),
    'non-interactive': Flags.boolean({description: 'Never prompt or open a browser (also when stdin is not a TTY or CI is set).', default: false}),
    store: Flags.boolean({description: 'Store the session (--no-store: use it for the project, then keep nothing).', default: true, allowNo: true}),
    ...outputEnvFlag,
  }

  async run(): Promise<SignupResult> {
    const {flags} = await this.parse(Signup)
    const [{signup}, {renderSignup}] = await Promise.all([import('../flows/signup.js'), import('../render/signup.js')])
    const deps = await this.deps({verbose: flags.verbose, nonInteractive: flags['non-interactive']})
    const email = await resolveEmail(deps.ui, flags.email)
    const outcome = await signup(deps, {
      region: flags.region,
      host: flags.host,
      clientId: flags['client-id'],
      email,
      name: flags.name,
      orgName: flags['org-name'],
      store: flags.store,
      outputEnv: flags['output-env'],
      timeoutSeconds: CONSENT_TIMEOUT_SECONDS,
    })
    if (!this.jsonEnabled()) {
      const {adviseStorage} = await import('../session/notices.js')
      const session = outcome.result.session
      process.stdout.write(renderSignup(outcome, {advise: session ? adviseStorage(deps.paths, session.storage) : true}))
    }
    return outcome.result
  }
}

/**
 * --email, or asked for on a terminal (validated as typed); refused (exit 2) before any request when it
 * is not an email, or missing where nobody can be asked.
 */
export async function resolveEmail(ui: Pick<Ui, 'interactive' | 'prompt'>, given: string | undefined): Promise<string> {
  const [{isValidEmail, invalidEmail}, {UsageError}] = await Promise.all([import('../flows/signup.js'), import('../errors.js')])
  let email = given?.trim()
  if (email === undefined) {
    if (!ui.interactive) throw new UsageError('Pass --email: a non-interactive signup cannot ask for it.', {code: 'email_required'})
    email = (await ui.prompt('Email for your new PostHog account:', {validate: (value) => isValidEmail(value.trim()) || 'Enter an email address like name@example.com'})).trim()
  }
  if (!isValidEmail(email)) throw invalidEmail(email)
  return email
}
