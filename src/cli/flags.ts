import {Flags} from '@oclif/core'

import {SERVER_FLAG_SPECS} from './flag-spec.js'

const {region, host, 'client-id': clientId} = SERVER_FLAG_SPECS

/**
 * Flags that select the server, shared by every command that talks to one (client.md "Selecting the server").
 * Built from the plain-data specs in flag-spec.ts, which the fast path (src/fast/) parses too.
 */
export const serverFlags = {
  region: Flags.option({options: region.options, description: region.description, env: region.env, helpGroup: region.helpGroup})(),
  host: Flags.string({description: host.description, env: host.env, helpGroup: host.helpGroup}),
  'client-id': Flags.string({description: clientId.description, env: clientId.env, helpGroup: clientId.helpGroup}),
}
