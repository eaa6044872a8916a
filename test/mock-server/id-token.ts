/**
 * OIDC ID tokens: RS256 JWTs signed with a key pair made for this mock instance (node:crypto), the
 * public half published at `jwks_uri`. Generated on first use: most tests never ask for `openid`.
 */
import {generateKeyPairSync, randomBytes, sign, type KeyObject} from 'node:crypto'

export interface SigningKey {
  kid: string
  privateKey: KeyObject
  publicJwk: Record<string, unknown>
}

export interface IdTokenSigner {
  key(): SigningKey
  jwks(): {keys: Record<string, unknown>[]}
  sign(claims: Record<string, unknown>): string
}

export function createIdTokenSigner(): IdTokenSigner {
  let cached: SigningKey | undefined
  const key = (): SigningKey => (cached ??= generateSigningKey())
  return {
    key,
    jwks: () => ({keys: [key().publicJwk]}),
    sign: (claims) => signJwt(key(), claims),
  }
}

function generateSigningKey(): SigningKey {
  const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
  const kid = randomBytes(8).toString('hex')
  return {kid, privateKey, publicJwk: {...publicKey.export({format: 'jwk'}), kid, alg: 'RS256', use: 'sig'}}
}

/** RFC 7515 compact serialization, RS256 (RFC 7518 section 3.3). */
function signJwt(key: SigningKey, claims: Record<string, unknown>): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const signingInput = `${encode({alg: 'RS256', typ: 'JWT', kid: key.kid})}.${encode(claims)}`
  const signature = sign('sha256', Buffer.from(signingInput), key.privateKey).toString('base64url')
  return `${signingInput}.${signature}`
}
