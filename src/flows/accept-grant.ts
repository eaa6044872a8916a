import type {Deps} from '../deps.js'
import type {TokenSet} from '../oauth/client.js'
import {invalidScope} from '../scopes/invalid-scope.js'
import {compareGrant, type GrantComparison, type Plan} from '../scopes/preflight.js'
import {accountOf, expiresAt, sessionKey, type Session} from '../session/session.js'
import type {SaveResult, SessionStore, StorageDescription} from '../session/store.js'
import {serverText} from '../terminal-text.js'

/**
 * Grant -> session, written once for login and signup: compare what was granted with the plan, refuse
 * (and revoke) a grant without a required scope, warn about missing optional ones, find the user, and
 * save the session. A token without a required scope would fail an hour later with a 401: refuse it now.
 */
export interface AcceptGrantInput {
  plan: Plan
  tokens: Omit<TokenSet, 'idTokenClaims'>
  /** The granted scope string as the server reports it; undefined = granted as requested (RFC 6749 section 5.1). */
  granted: string | undefined
  /** Why the grant could not be read back (signup): the session keeps the requested scopes, marked unverified. */
  unverified?: string
  session: Pick<Session, 'issuer' | 'client_id' | 'region' | 'kind'>
  /** undefined: keep nothing (signup --no-store); the session is built and returned all the same. */
  store: SessionStore | undefined
  /** Ends the grant on the server when it is refused; best effort. */
  revoke: () => Promise<unknown>
  /** Revokes other tokens of the same server and app (a session left in an unreachable keychain); best effort. */
  revokeTokens?: (tokens: {access_token: string; refresh_token: string | null}) => Promise<unknown>
  findUser: (granted: readonly string[]) => Promise<Session['user']>
  /** The source reported when a required scope is missing: `grant` (login) or `provisioning` (signup). */
  refusedAs?: 'grant' | 'provisioning'
  /** The last sentence of a refusal, e.g. that the account now exists. */
  refusalOutcome?: string
}

export interface AcceptedGrant {
  session: Session
  grant: GrantComparison
  /** Where the session was saved; null when nothing was stored. */
  storage: StorageDescription | null
  /** Where it was before, when this save moved it out of the plaintext file into the keychain. */
  movedFrom: StorageDescription | null
}

export async function acceptGrant(deps: Pick<Deps, 'logger' | 'ui' | 'now' | 'paths'>, input: AcceptGrantInput): Promise<AcceptedGrant> {
  const {plan, tokens, session: identity} = input
  const grant = compareGrant(plan, input.granted)
  if (grant.missingRequired.length > 0) {
    await revokeQuietly(deps, input.revoke)
    throw invalidScope(deps.logger, {
      source: input.refusedAs ?? 'grant',
      surface: plan.surface,
      issuer: identity.issuer,
      clientId: identity.client_id,
      requested: plan.request,
      required: plan.required,
      advertised: plan.advertised,
      ceiling: plan.ceiling,
      missing: grant.missingRequired,
      ...(input.refusalOutcome ? {outcome: input.refusalOutcome} : {}),
    })
  }
  if (grant.missingOptional.length > 0) {
    deps.ui.warn(`The server did not grant these optional scopes: ${grant.missingOptional.join(', ')}. Related features will be unavailable.`)
  }
  const now = deps.now()
  const session: Session = {
    ...identity,
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    expires_at: expiresAt(now, tokens.expires_in),
    scope: grant.granted,
    user: await input.findUser(grant.granted),
    obtained_at: now.toISOString(),
    // What this grant was asked for: later reports judge its missing scopes against these, not the built-in set.
    requested_scopes: [...plan.request],
    required_scopes: [...plan.required],
    ...(input.unverified ? {unverified: input.unverified} : {}),
  }
  if (!input.store) return {session, grant, storage: null, movedFrom: null}
  try {
    // Sessions are kept per server, app, account and kind: only this account's own session of this kind is replaced.
    const key = sessionKey(session)
    const replaced = (await input.store.list()).some((info) => sessionKey(info) === key)
    const saved = await input.store.save(session)
    if (replaced) {
      const account = accountOf(session) ?? 'an account the server did not name'
      deps.ui.info(`Replaced the ${session.kind === 'provisioning' ? 'signup' : 'login'} session stored for ${serverText(account)} on ${new URL(session.issuer).host}; other accounts' sessions are kept.`)
    }
    await defaultFirstAccount(deps, session)
    if (saved.left_behind) await reportLeftBehind(deps, saved.left_behind, input.revokeTokens)
    if (saved.moved_from) deps.ui.info(`Moved this session out of the plaintext file ${saved.moved_from.location} into ${saved.storage.location}.`)
    return {session, grant, storage: saved.storage, movedFrom: saved.moved_from}
  } catch (error) {
    // Tokens that cannot be kept must not stay live on the server.
    await revokeQuietly(deps, input.revoke)
    throw error
  }
}

/**
 * The keychain could not be reached, so this session went to the file and the earlier one of the same
 * key stays in the keychain with its tokens: revoked when they could be read, and named either way so
 * the user can remove it (its tokens would otherwise stay live, unseen).
 */
async function reportLeftBehind(
  deps: Pick<Deps, 'logger' | 'ui'>,
  leftBehind: NonNullable<SaveResult['left_behind']>,
  revokeTokens: AcceptGrantInput['revokeTokens'],
): Promise<void> {
  const {session, location, tokens} = leftBehind
  const who = `${serverText(accountOf(session) ?? 'an account the server did not name')} on ${new URL(session.issuer).host}`
  let revoked = false
  if (tokens && revokeTokens) {
    try {
      revoked = (await revokeTokens(tokens)) !== false
    } catch (error) {
      deps.logger.event('oauth.revoke_failed', {error: error instanceof Error ? error.message : String(error)}, 'debug')
    }
  }
  deps.logger.event('session.left_in_keychain', {issuer: session.issuer, client_id: session.client_id, account: accountOf(session) ?? null, revoked}, 'warn', {echo: false})
  deps.ui.warn(
    revoked
      ? `The earlier ${session.kind === 'provisioning' ? 'signup' : 'login'} session for ${who} was left in ${location.location}, which could not be reached; its tokens were revoked, so it no longer works. Delete that keychain entry once the keychain works (onramp logout does it).`
      : `The earlier ${session.kind === 'provisioning' ? 'signup' : 'login'} session for ${who} stays in ${location.location}, which could not be reached, with tokens that may still work. ` +
          `Once the keychain works, remove it with onramp logout --host ${session.issuer}, or revoke onramp's access in your account settings on ${new URL(session.issuer).host}.`,
  )
}

/**
 * The first account stored for a server becomes its default (as `onramp switch` would set it); a later
 * login or signup of another account never changes the default, so no other terminal is switched by it.
 */
async function defaultFirstAccount(deps: Pick<Deps, 'paths' | 'logger'>, session: Session): Promise<void> {
  const account = accountOf(session)
  if (!account) return
  try {
    const {readDefaults, updateDefaults} = await import('../select/defaults.js')
    if (readDefaults(deps.paths.config).accounts[session.issuer]) return
    await updateDefaults(deps.paths.config, (defaults) => {
      defaults.accounts[session.issuer] ??= account
    })
  } catch (error) {
    // The session is stored; without a default, commands ask which account when there are several.
    deps.logger.event('defaults.write_failed', {error: error instanceof Error ? error.message : String(error)}, 'debug')
  }
}

/** A refused grant should not stay live, but failing to revoke it changes nothing for the user. */
export async function revokeQuietly(deps: Pick<Deps, 'logger'>, revoke: () => Promise<unknown>): Promise<void> {
  try {
    await revoke()
  } catch (error) {
    deps.logger.event('oauth.revoke_failed', {error: error instanceof Error ? error.message : String(error)}, 'debug')
  }
}
