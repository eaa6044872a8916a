import {NotLoggedInError, UsageError} from '../errors.js'
import {DEFAULT_REGION, resolveServer, type Server} from '../select-server.js'
import {accountOf, type SessionKind} from '../session/session.js'
import type {Defaults} from './defaults.js'
import type {OnrampFile} from './onramp-file.js'

/**
 * The ONE decision of which server, app and account a command uses (README "Which server and account").
 * Each of server, client id and account comes from the first of: flags, environment variables, the
 * nearest `.onramp.json`; then `onramp switch`'s default; then the only stored session. Pure: the
 * caller reads the inputs (src/flows/select-sessions.ts), so two commands in two folders decide
 * independently and nothing global is written.
 */

/** What was typed on the command line (never the environment: that is a level of its own). */
export interface SelectionFlags {
  region?: string | undefined
  host?: string | undefined
  clientId?: string | undefined
  account?: string | undefined
}

/** Where a choice came from: `name` is what a person reads (`--host`, `ONRAMP_ACCOUNT`, a file's path). */
export interface ChoiceSource {
  level: 'flag' | 'env' | 'file' | 'switch' | 'only' | 'default'
  name: string
}

/** The metadata of a stored session: all the chooser needs. */
export interface Candidate {
  issuer: string
  client_id: string
  kind?: SessionKind | undefined
  user?: {email?: string; id?: string} | null | undefined
  obtained_at: string
}

export interface Choice<T extends Candidate = Candidate> {
  server: Server
  /** The account chosen; null when none could be (no session, or several without a choice). */
  account: string | null
  /** The session a command of the given kind uses; undefined when there is none. */
  session: T | undefined
  /** Several accounts and nothing to choose between them: their names. */
  ambiguous: string[]
  sources: {server: ChoiceSource; client_id: ChoiceSource | null; account: ChoiceSource | null}
  /** The `.onramp.json` that was read (chose something or not). */
  file: string | null
  /** Whether a flag, variable or file named the server / the account (logout and login use it). */
  explicit: {server: boolean; clientId: boolean; account: boolean}
}

export interface ChooseInput<T extends Candidate> {
  flags: SelectionFlags
  env: NodeJS.ProcessEnv
  file: OnrampFile | undefined
  defaults: Defaults
  /** Where `onramp switch` keeps its defaults, for the source's name. */
  defaultsPath?: string
  sessions: readonly T[]
  /** The kind this command prefers (`projects`: provisioning; `token`: oauth); any kind otherwise. */
  prefer?: SessionKind | undefined
}

interface Layer {
  level: 'flag' | 'env' | 'file'
  host?: string | undefined
  region?: string | undefined
  clientId?: string | undefined
  account?: string | undefined
  names: {host: string; region: string; clientId: string; account: string}
}

const nonEmpty = (value: string | undefined): string | undefined => (value && value.trim() !== '' ? value.trim() : undefined)

function layers(flags: SelectionFlags, env: NodeJS.ProcessEnv, file: OnrampFile | undefined): Layer[] {
  const result: Layer[] = [
    {level: 'flag', ...flags, names: {host: '--host', region: '--region', clientId: '--client-id', account: '--account'}},
    {
      level: 'env',
      host: nonEmpty(env.ONRAMP_HOST),
      region: nonEmpty(env.ONRAMP_REGION),
      clientId: nonEmpty(env.ONRAMP_CLIENT_ID),
      account: nonEmpty(env.ONRAMP_ACCOUNT),
      names: {host: 'ONRAMP_HOST', region: 'ONRAMP_REGION', clientId: 'ONRAMP_CLIENT_ID', account: 'ONRAMP_ACCOUNT'},
    },
  ]
  if (file) result.push({level: 'file', host: file.host, region: file.region, clientId: file.client_id, account: file.account, names: {host: file.path, region: file.path, clientId: file.path, account: file.path}})
  return result
}

/** The account as stored sessions are compared: accountOf's lower-cased email (ids compared the same way). */
const normal = (account: string): string => account.trim().toLowerCase()
const accountKey = (candidate: Candidate): string | null => {
  const account = accountOf({user: candidate.user ?? null})
  return account === null ? null : normal(account)
}

export function choose<T extends Candidate>(input: ChooseInput<T>): Choice<T> {
  const {flags, env, file, defaults, sessions, prefer} = input
  const levels = layers(flags, env, file)
  const switchName = `the default account (${input.defaultsPath ?? 'defaults.json'}; onramp switch changes it)`

  // Server: host beats region within a level; a higher level beats both.
  const serverLayer = levels.find((layer) => layer.host || layer.region)
  const clientLayer = levels.find((layer) => layer.clientId)
  const accountLayer = levels.find((layer) => layer.account)
  const explicitClient = clientLayer?.clientId
  const explicitAccount = accountLayer?.account === undefined ? undefined : normal(accountLayer.account)
  if (serverLayer?.level === 'env' && !serverLayer.host && serverLayer.region && serverLayer.region !== 'us' && serverLayer.region !== 'eu') {
    throw new UsageError(`ONRAMP_REGION=${serverLayer.region} is not one of us, eu (it sets --region): set it to one of them, or unset ONRAMP_REGION.`)
  }

  const matchesClient = (candidate: Candidate) => !explicitClient || candidate.client_id === explicitClient
  const matchesAccount = (candidate: Candidate) => !explicitAccount || accountKey(candidate) === explicitAccount

  let server: Server
  let serverSource: ChoiceSource
  if (serverLayer) {
    const useHost = Boolean(serverLayer.host)
    try {
      server = resolveServer(useHost ? {host: serverLayer.host, clientId: explicitClient} : {region: serverLayer.region, clientId: explicitClient})
    } catch (error) {
      // A value from a variable or a file: say where it came from, not only what is wrong with it.
      if (serverLayer.level === 'flag' || !(error instanceof UsageError)) throw error
      throw new UsageError(`${error.message} (from ${useHost ? serverLayer.names.host : serverLayer.names.region})`, {code: error.code})
    }
    serverSource = {level: serverLayer.level, name: useHost ? serverLayer.names.host : serverLayer.names.region}
  } else {
    const issuers = [...new Set(sessions.filter((s) => matchesClient(s) && matchesAccount(s)).map((s) => s.issuer))]
    // A default server where the chosen account has no session does not count: the account's own server does.
    const defaultServer = defaults.server && (!explicitAccount || issuers.some((issuer) => sameIssuer(issuer, defaults.server!))) ? defaults.server : null
    if (defaultServer) {
      server = resolveServer({host: defaultServer, clientId: explicitClient})
      serverSource = {level: 'switch', name: `the server of the last onramp switch (${input.defaultsPath ?? 'defaults.json'})`}
    } else if (issuers.length === 1) {
      server = resolveServer({host: issuers[0]!, clientId: explicitClient})
      serverSource = {level: 'only', name: explicitAccount ? `the only server with a session of ${explicitAccount}` : 'the only server with a stored session'}
    } else {
      server = resolveServer({region: DEFAULT_REGION, clientId: explicitClient})
      serverSource = {level: 'default', name: issuers.length > 1 ? `the default region (${DEFAULT_REGION}; sessions are stored for several servers)` : `the default region (${DEFAULT_REGION})`}
    }
  }

  const onServer = sessions.filter((s) => sameIssuer(s.issuer, server.issuer) && matchesClient(s))
  const newestFirst = (pool: T[]) => [...pool].sort((a, b) => Date.parse(b.obtained_at) - Date.parse(a.obtained_at))
  const accountsIn = (pool: T[]) => [...new Set(pool.map(accountKey))]

  let account: string | null = null
  let accountSource: ChoiceSource | null = null
  let ambiguous: string[] = []
  if (explicitAccount && accountLayer) {
    account = explicitAccount
    accountSource = {level: accountLayer.level, name: accountLayer.names.account}
  } else {
    const preferred = defaults.accounts[server.issuer] ? normal(defaults.accounts[server.issuer]!) : undefined
    const pools = prefer ? [onServer.filter((s) => (s.kind ?? 'oauth') === prefer), onServer] : [onServer]
    for (const pool of pools) {
      const names = accountsIn(pool)
      if (preferred && names.includes(preferred)) {
        account = preferred
        accountSource = {level: 'switch', name: switchName}
        break
      }
      if (names.length === 1 && names[0] !== null) {
        account = names[0]!
        accountSource = {level: 'only', name: pool === onServer ? 'the only account with a stored session' : `the only account with a ${prefer === 'provisioning' ? 'signup' : 'login'} session`}
        break
      }
      if (names.length === 1) break // one session whose account the server did not name: chosen below
    }
    if (account === null && accountsIn(onServer).length > 1) ambiguous = accountsIn(onServer).map((name) => name ?? '(unknown account)')
  }

  let session: T | undefined
  if (ambiguous.length === 0) {
    const mine = onServer.filter((s) => (account === null ? accountsIn(onServer).length === 1 : accountKey(s) === account))
    const ofKind = prefer ? mine.filter((s) => (s.kind ?? 'oauth') === prefer) : []
    session = newestFirst(ofKind.length > 0 ? ofKind : mine)[0]
  }

  return {
    server,
    account,
    session,
    ambiguous,
    sources: {
      server: serverSource,
      client_id: clientLayer ? {level: clientLayer.level, name: clientLayer.names.clientId} : null,
      account: accountSource,
    },
    file: file?.path ?? null,
    explicit: {server: Boolean(serverLayer), clientId: Boolean(clientLayer), account: Boolean(explicitAccount)},
  }
}

function sameIssuer(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '')
}

/** "chosen by --account" / "chosen by /path/.onramp.json": one phrase for status, whoami and --verbose. */
export function describeSource(source: ChoiceSource | null): string {
  return source ? source.name : 'nothing (no choice made)'
}

/** The error for a command that needs one session and found several accounts without a choice. */
export function ambiguousAccountError(choice: Pick<Choice, 'server' | 'ambiguous'>): UsageError {
  const host = new URL(choice.server.issuer).host
  return new UsageError(
    `Several accounts are logged in to ${host}: ${choice.ambiguous.join(', ')}. Choose one with --account EMAIL (or ONRAMP_ACCOUNT, or "account" in .onramp.json), ` +
      'or make one the default for this server with onramp switch --account EMAIL.',
    {code: 'account_ambiguous', nextCommand: `onramp switch --account ${choice.ambiguous[0]}`},
  )
}

/** No session for the chosen account (or none at all) on the chosen server. */
export function noSessionError(choice: Pick<Choice, 'server' | 'account' | 'sources'>, what = 'session'): NotLoggedInError {
  const host = new URL(choice.server.issuer).host
  if (choice.account && choice.sources.account && (choice.sources.account.level === 'flag' || choice.sources.account.level === 'env' || choice.sources.account.level === 'file')) {
    return new NotLoggedInError(`No ${what} for ${choice.account} on ${host} (the account chosen by ${choice.sources.account.name}). Run onramp login as ${choice.account}, or choose another account.`)
  }
  return new NotLoggedInError(`Not logged in to ${choice.server.issuer}.`)
}
