import {Flags} from '@oclif/core'

/** Flags that select the server, shared by every command that talks to one (client.md "Selecting the server"). */
export const serverFlags = {
  region: Flags.option({
    options: ['us', 'eu'] as const,
    description: 'PostHog Cloud region (default us).',
    env: 'ONRAMP_REGION',
    helpGroup: 'SERVER',
  })(),
  host: Flags.string({
    description: 'Any OAuth issuer / base URL; overrides --region. http:// only for loopback hosts.',
    env: 'ONRAMP_HOST',
    helpGroup: 'SERVER',
  }),
  'client-id': Flags.string({
    description: 'OAuth client id (defaults to the PostHog wizard app on the built-in regions).',
    env: 'ONRAMP_CLIENT_ID',
    helpGroup: 'SERVER',
  }),
}
