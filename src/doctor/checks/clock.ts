import {fail, ok, warn, type Check, type DoctorContext} from '../types.js'

const WARN_SECONDS = 60
const FAIL_SECONDS = 300

/**
 * clock.skew: the server's `Date` (from the discovery answer) against this machine's clock. Tokens
 * expire by the local clock, so a clock minutes off refreshes too late (401s) or far too often.
 */
export const checkClock: Check = async (ctx) => {
  const id = 'clock.skew'
  const discovery = ctx.findings.discovery
  if (!discovery?.ok) return [warn('runtime', id, 'not checked: the server did not answer (see server.discovery)', 'fix server.discovery first, then run onramp doctor again')]
  const serverMs = discovery.date ? Date.parse(discovery.date) : NaN
  if (Number.isNaN(serverMs)) {
    return [warn('runtime', id, 'not measured: the server sent no usable Date header', `make sure this machine's clock is synchronised (${syncCommand(ctx)})`)]
  }
  // Date has one-second resolution: a skew under a second is noise.
  const skewSeconds = Math.round((discovery.receivedAt.getTime() - serverMs) / 1000)
  const size = Math.abs(skewSeconds)
  const direction = skewSeconds > 0 ? 'ahead of' : 'behind'
  const summary = size <= 1 ? `this machine's clock matches the server's (Date: ${discovery.date})` : `this machine's clock is ${describe(size)} ${direction} the server's (Date: ${discovery.date})`
  if (size > FAIL_SECONDS) return [fail('runtime', id, `${summary}: tokens will look valid when expired, or expired when valid`, `synchronise the clock (${syncCommand(ctx)})`)]
  if (size > WARN_SECONDS) return [warn('runtime', id, summary, `synchronise the clock (${syncCommand(ctx)})`)]
  return [ok('runtime', id, summary)]
}

function describe(seconds: number): string {
  if (seconds < 120) return `${seconds} s`
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`
  return `${Math.round(seconds / 86400)} days`
}

function syncCommand(ctx: DoctorContext): string {
  if (ctx.platform === 'darwin') return 'sudo sntp -sS time.apple.com'
  if (ctx.platform === 'win32') return 'w32tm /resync'
  return 'sudo timedatectl set-ntp true'
}
