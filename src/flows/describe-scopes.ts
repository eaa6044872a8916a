import {listOrDash, renderTable, yesNo} from '../output.js'
import {LOGIN_SCOPES, neverAdvertisedReason, SCOPES, SIGNUP_SCOPES, type Surface} from '../scopes.js'

export interface ScopesDescription {
  entries: {scope: string; surfaces: Surface[]; required: Surface[]; advertised: boolean; why: string}[]
  login: string[]
  signup: string[]
}

/** The scope constant as data for `onramp scopes`. `advertised` is what servers are expected to list. */
export function describeScopes(): ScopesDescription {
  return {
    entries: SCOPES.map((entry) => ({
      scope: entry.scope,
      surfaces: [...entry.surfaces],
      required: [...entry.required],
      advertised: neverAdvertisedReason(entry.scope) === undefined,
      why: entry.why,
    })),
    login: [...LOGIN_SCOPES],
    signup: [...SIGNUP_SCOPES],
  }
}

export function renderScopesTable(description: ScopesDescription): string {
  const rows = description.entries.map((entry) => {
    const reason = neverAdvertisedReason(entry.scope)
    return [
      entry.scope,
      yesNo(entry.surfaces.includes('login')),
      yesNo(entry.surfaces.includes('signup')),
      listOrDash(entry.required),
      reason ? `no (${reason})` : 'yes',
      entry.why,
    ]
  })
  return (
    renderTable(['SCOPE', 'LOGIN', 'SIGNUP', 'REQUIRED', 'ADVERTISED', 'WHY'], rows) +
    `\n${description.login.length} login scopes, ${description.signup.length} signup scopes. ` +
    'Run `onramp scopes --check` to compare them with the server.\n'
  )
}
