import {ok, type Check} from '../types.js'

/**
 * login.device_grant: whether the server advertises the device authorization grant (RFC 8628
 * `device_authorization_endpoint`), which `onramp login --device` needs and login offers first where no
 * browser can open. Neither answer is a problem: without it, the pasted redirect is the way in.
 */
export const checkDeviceGrant: Check = async (ctx) => {
  const id = 'login.device_grant'
  const discovery = ctx.findings.discovery
  if (!discovery?.ok) return []
  const endpoint = discovery.metadata.device_authorization_endpoint
  const issuer = ctx.server.issuer
  if (typeof endpoint === 'string' && endpoint !== '') {
    return [ok('login', id, `${issuer} advertises the device grant (device_authorization_endpoint): onramp login --device works, and login uses it first where no browser can open`)]
  }
  return [ok('login', id, `${issuer} does not advertise the device grant (no device_authorization_endpoint): where no browser can open, onramp login --no-browser pastes the redirect`)]
}
