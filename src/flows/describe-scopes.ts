import {LOGIN_SCOPES, neverAdvertisedReason, SCOPES, SIGNUP_SCOPES, type Surface} from '../scopes/constant.js'

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
