import {ok, type Check, type DoctorContext} from '../types.js'

/** Whether the chosen server's metadata (read by the discovery check) offers the device grant; undefined when unknown. */
export function deviceGrantOffered(ctx: DoctorContext): boolean | undefined {
  const discovery = ctx.findings.discovery
  if (!discovery?.ok) return undefined
  const endpoint = discovery.metadata.device_authorization_endpoint
  return typeof endpoint === 'string' && endpoint !== ''
}

/**
 * The way in when no browser can open here or the loopback cannot receive the redirect: the device grant
 * (onramp login --device) where the server offers it, else the pasted redirect (--no-browser).
 */
export function withoutLoopbackFix(ctx: DoctorContext): string {
  const paste = 'onramp login --no-browser (paste the redirect URL)'
  switch (deviceGrantOffered(ctx)) {
    case true:
      return `use onramp login --device (a one-time code you approve on any device; ${ctx.server.issuer} offers it), or ${paste}`
    case false:
      return `use ${paste}; onramp login --device would need the device grant, which ${ctx.server.issuer} does not offer`
    default:
      return `use onramp login --device where the server offers the device grant (a one-time code you approve on any device), else ${paste}`
  }
}

/**
 * login.device_grant: whether the server advertises the device authorization grant (RFC 8628
 * `device_authorization_endpoint`), which `onramp login --device` needs and login offers first where no
 * browser can open. Neither answer is a problem: without it, the pasted redirect is the way in.
 */
export const checkDeviceGrant: Check = async (ctx) => {
  const id = 'login.device_grant'
  const offered = deviceGrantOffered(ctx)
  if (offered === undefined) return []
  const issuer = ctx.server.issuer
  if (offered) {
    return [ok('login', id, `${issuer} advertises the device grant (device_authorization_endpoint): onramp login --device works, and login uses it first where no browser can open`)]
  }
  return [ok('login', id, `${issuer} does not advertise the device grant (no device_authorization_endpoint): where no browser can open, onramp login --no-browser pastes the redirect`)]
}
