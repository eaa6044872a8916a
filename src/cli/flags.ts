import {Flags} from '@oclif/core'

import {UsageError} from '../errors.js'

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

/**
 * The usage error for an option flag whose value came from its environment variable and is not one of
 * its options: oclif's own message says `--region=xx` although nobody typed --region. A value typed
 * on the command line wins over the variable, so only flags absent from argv are checked.
 */
export function envOptionError({flags, argv}: {flags: Record<string, {env?: string; options?: readonly string[]; char?: string}>; argv: readonly string[]}): UsageError | undefined {
  const end = argv.indexOf('--')
  const typed = end === -1 ? argv : argv.slice(0, end)
  for (const [name, flag] of Object.entries(flags)) {
    const value = flag.env ? process.env[flag.env] : undefined
    if (!flag.env || !flag.options || !value || flag.options.includes(value)) continue
    const onArgv = typed.some((word) => word === `--${name}` || word.startsWith(`--${name}=`) || (flag.char !== undefined && word.startsWith(`-${flag.char}`)))
    if (onArgv) continue
    return new UsageError(`${flag.env}=${value} is not one of ${flag.options.join(', ')} (it sets --${name}): set it to one of them, or unset ${flag.env}.`)
  }
  return undefined
}
