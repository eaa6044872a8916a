import type {Deps} from '../deps.js'
import type {ProvisioningDeps} from './api.js'

/**
 * The provisioning layer's entry: the ports its steps need, taken from the flows' `Deps`. Every flow
 * that calls a provisioning step builds them here.
 */
export function provisioningDeps(deps: Pick<Deps, 'http' | 'logger' | 'now' | 'ui'>): ProvisioningDeps {
  return {
    http: deps.http,
    logger: deps.logger,
    now: deps.now,
    onRateLimitWait: ({seconds}) => deps.ui.info(`The server is rate limiting this app: waiting ${seconds} s, then retrying once.`),
  }
}
