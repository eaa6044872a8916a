import type {Deps} from '../deps.js'
import {NotLoggedInError, UsageError} from '../errors.js'
import {defaultsFile, readDefaults, updateDefaults} from '../select/defaults.js'
import type {ServerSelection} from '../select-server.js'
import {accountOf} from '../session/session.js'
import {chooseFor} from './select-sessions.js'

export interface SwitchResult {
  issuer: string
  /** The default account for that server from now on. */
  account: string
  /** The default before; null when there was none. */
  previous: string | null
  /** Where the default is kept (`<config dir>/defaults.json`). */
  file: string
  /** What still wins over the default in this folder and environment (a flag, ONRAMP_ACCOUNT, .onramp.json); null when nothing. */
  overridden_by: string | null
}

/**
 * `onramp switch`: makes an account the default for its server, for commands that nothing else chooses
 * an account for (no --account, ONRAMP_ACCOUNT or .onramp.json). Without --account, with exactly two
 * accounts on the server, the other one. Only an account with a stored session can be the default.
 */
export async function switchAccount(deps: Deps, selection: ServerSelection): Promise<SwitchResult> {
  const store = await deps.sessions()
  const stored = await store.list()
  // The server as every command chooses it; the account here is the one to switch to, so only a typed --account counts.
  const target = selection.account?.trim().toLowerCase()
  const {choice} = await chooseFor(deps, {...selection, account: target}, {sessions: stored})
  const issuer = choice.server.issuer
  const onServer = [...new Set(stored.filter((session) => session.issuer === issuer).map((session) => accountOf(session)?.toLowerCase()).filter((name): name is string => Boolean(name)))]
  const defaults = readDefaults(deps.paths.config)
  const previous = defaults.accounts[issuer] ?? null
  let account = target
  if (!account) {
    if (onServer.length === 2) account = onServer.find((name) => name !== (previous ?? current(choice.account)))
    else if (onServer.length < 2) {
      throw new UsageError(
        onServer.length === 0 ? `No account is logged in to ${issuer}: run onramp login first.` : `Only ${onServer[0]} is logged in to ${issuer}: there is nothing to switch to. Log in as another account first (onramp login).`,
        {code: 'nothing_to_switch', nextCommand: 'onramp login'},
      )
    } else {
      throw new UsageError(`Several accounts are logged in to ${issuer} (${onServer.join(', ')}): name one with --account EMAIL.`, {
        code: 'account_required',
        nextCommand: `onramp switch --account ${onServer[0]}`,
      })
    }
  }
  if (!account || !onServer.includes(account)) {
    throw new NotLoggedInError(
      `${account} has no session on ${issuer}${onServer.length ? ` (logged in: ${onServer.join(', ')})` : ''}: run onramp login as ${account} first; only a logged-in account can be the default.`,
    )
  }
  const chosen = account
  await updateDefaults(deps.paths.config, (current) => {
    current.accounts[issuer] = chosen
    current.server = issuer
  })
  // What would still win over the default here: say so, or the user wonders why nothing changed.
  const after = await chooseFor(deps, {...selection, account: undefined}, {sessions: stored})
  const source = after.choice.sources.account
  const overridden = source && (source.level === 'env' || source.level === 'file') && after.choice.account !== chosen ? source.name : null
  deps.logger.event('switch', {issuer, account: chosen, previous}, 'info')
  return {issuer, account: chosen, previous, file: defaultsFile(deps.paths.config), overridden_by: overridden}
}

function current(account: string | null): string | undefined {
  return account ?? undefined
}
