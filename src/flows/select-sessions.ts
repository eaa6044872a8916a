import type {Deps} from '../deps.js'
import {ambiguousAccountError, choose, type Choice, type SelectionFlags} from '../select/choose.js'
import {defaultsFile, readDefaults} from '../select/defaults.js'
import {findOnrampFile} from '../select/onramp-file.js'
import {accountOf, type Session, type SessionKind} from '../session/session.js'
import type {SessionInfo, SessionStore} from '../session/store.js'

export type {SelectionFlags} from '../select/choose.js'

/** What the selection decided, as status, whoami and --verbose report it (schemas/status.schema.json `selection`). */
export interface SelectionReport {
  issuer: string
  server_from: string
  client_id_from: string | null
  /** The account commands use; null when none is chosen (no session, or several accounts without a choice). */
  account: string | null
  account_from: string | null
  /** The `.onramp.json` read, whether or not it chose anything. */
  file: string | null
  /** Several accounts on the server and nothing choosing one: their names (commands then ask for --account). */
  ambiguous: string[]
}

export function selectionReport(choice: Choice<SessionInfo>): SelectionReport {
  return {
    issuer: choice.server.issuer,
    server_from: choice.sources.server.name,
    client_id_from: choice.sources.client_id?.name ?? null,
    account: choice.account,
    account_from: choice.sources.account?.name ?? null,
    file: choice.file,
    ambiguous: choice.ambiguous,
  }
}

/**
 * Reads what the one selection (src/select/choose.ts) decides from: the flags, the environment, the
 * nearest `.onramp.json` above the working folder, `onramp switch`'s defaults and the stored sessions'
 * metadata (no secret). Logs the decision under --verbose only (a plain `token` writes no file).
 */
export async function chooseFor(
  deps: Deps,
  flags: SelectionFlags,
  {prefer, sessions}: {prefer?: SessionKind | undefined; sessions?: readonly SessionInfo[]} = {},
): Promise<{choice: Choice<SessionInfo>; store: SessionStore | undefined; all: SessionInfo[]}> {
  const file = findOnrampFile(deps.cwd)
  const store = sessions ? undefined : await deps.sessions()
  const all = sessions ? [...sessions] : await store!.list()
  const choice = choose({flags, env: deps.env, file, defaults: readDefaults(deps.paths.config), defaultsPath: defaultsFile(deps.paths.config), sessions: all, prefer})
  deps.logger.event('selection', {...selectionReport(choice), prefer: prefer ?? null}, 'debug', {verboseOnly: true})
  return {choice, store, all}
}

/**
 * The sessions `status` and `logout` act on: those of the server a flag, variable or `.onramp.json`
 * names (and of its client id and account, when named), else every stored session.
 */
export async function selectSessions(
  deps: Deps,
  flags: SelectionFlags,
): Promise<{store: SessionStore; sessions: SessionInfo[]; choice: Choice<SessionInfo>; all: SessionInfo[]}> {
  const store = await deps.sessions()
  const all = await store.list()
  const {choice} = await chooseFor(deps, flags, {sessions: all})
  return {store, sessions: namedBy(choice, all), choice, all}
}

/** The sessions of the server, app and account a flag, variable or `.onramp.json` names; all of them when none is named. */
export function namedBy<T extends SessionInfo>(choice: Choice<T>, all: readonly T[]): T[] {
  return all.filter(
    (session) =>
      (!choice.explicit.server || session.issuer === choice.server.issuer) &&
      (!choice.explicit.clientId || session.client_id === choice.server.clientId) &&
      (!choice.explicit.account || accountMatches(session, choice.account)),
  )
}

/** The server (and client id, when one is chosen) a command that needs no session talks to: login, signup, scopes --check, doctor. */
export async function chooseServer(deps: Deps, flags: SelectionFlags): Promise<Choice<SessionInfo>> {
  // A server named by a flag, variable or .onramp.json needs no stored session to be known: the store is not read.
  const named = await chooseFor(deps, flags, {sessions: []})
  if (named.choice.explicit.server) return named.choice
  return (await chooseFor(deps, flags)).choice
}

/**
 * The one session `token` (and `projects`) uses, as the selection decides; `prefer` picks the kind among
 * the chosen account's sessions (`projects` wants the provisioning session, `token` the login one).
 * Several accounts and nothing to choose between them is a usage error naming them (exit 2).
 */
export async function selectOneSession(
  deps: Deps,
  flags: SelectionFlags,
  {prefer}: {prefer?: SessionInfo['kind']} = {},
): Promise<{store: SessionStore; session: Session | undefined; storage: SessionInfo['storage'] | undefined; issuer: string; choice: Choice<SessionInfo>}> {
  const store = await deps.sessions()
  const {choice} = await chooseFor(deps, flags, {prefer, sessions: await store.list()})
  if (choice.ambiguous.length > 0) throw ambiguousAccountError(choice)
  const chosen = choice.session
  // list() holds no tokens: read them (from the keychain, maybe) for the one session used.
  const session = chosen ? await store.get(chosen) : undefined
  return {store, session, storage: chosen?.storage, issuer: choice.server.issuer, choice}
}

function accountMatches(session: SessionInfo, account: string | null): boolean {
  const name = accountOf(session)
  return account !== null && name !== null && name.toLowerCase() === account
}
