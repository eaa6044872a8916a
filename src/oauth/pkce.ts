import {crypto} from '../lazy-crypto.js'

/** A PKCE pair (RFC 7636): the verifier stays here, the challenge goes in the request. */
export interface Pkce {
  verifier: string
  challenge: string
}

/**
 * RFC 7636 section 4.1/4.2, S256: verifier = base64url(32 random bytes) (43 characters), challenge =
 * base64url(sha256(verifier)). The one PKCE maker: login's authorization request and signup's account
 * request (the wizard's S256, server.md 4.4) both use it.
 */
export function createPkce(): Pkce {
  const verifier = crypto().randomBytes(32).toString('base64url')
  return {verifier, challenge: crypto().createHash('sha256').update(verifier).digest('base64url')}
}
