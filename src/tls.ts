/**
 * Certificate errors, classified once for every command and for doctor: a TLS-intercepting proxy (a
 * company's, an antivirus's) or a private CA signs certificates Node does not trust; the fix is to trust
 * that CA, never to turn verification off. Node reads `NODE_EXTRA_CA_CERTS` everywhere; newer versions can
 * also use the operating system's store (`--use-system-ca`: Node 22.15+ and 23.9+ on every platform;
 * `NODE_USE_SYSTEM_CA=1`: Node 22.19+ and 24.6+), which is where IT departments install their proxy's CA.
 */

/** Certificate errors a TLS-intercepting proxy or a private CA produce: fixed by trusting the CA. */
export const UNTRUSTED_CERT_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
])
export const EXPIRED_CERT_CODES: ReadonlySet<string> = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'])
export const NAME_CERT_CODES: ReadonlySet<string> = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH'])

export type CertificateProblem = {kind: 'untrusted' | 'expired' | 'name'; code: string}

/** Every `code` along the `cause` chain: undici hides the TLS or errno code a few levels down. */
export function errorCodes(error: unknown): string[] {
  const codes: string[] = []
  for (let current = error, depth = 0; current && depth < 8; current = (current as {cause?: unknown}).cause, depth++) {
    const code = (current as {code?: unknown}).code
    if (typeof code === 'string') codes.push(code)
  }
  return codes
}

/** The certificate problem behind a failed request, if that is what it was. */
export function certificateProblem(error: unknown): CertificateProblem | undefined {
  for (const code of errorCodes(error)) {
    if (UNTRUSTED_CERT_CODES.has(code)) return {kind: 'untrusted', code}
    if (EXPIRED_CERT_CODES.has(code)) return {kind: 'expired', code}
    if (NAME_CERT_CODES.has(code)) return {kind: 'name', code}
  }
  return undefined
}

/** How this Node can be told to trust the operating system's certificate store, or undefined when it cannot. */
export function systemCaOption(version: string = process.versions.node, flags: ReadonlySet<string> = process.allowedNodeEnvironmentFlags): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  if (major >= 25 || (major === 24 && minor >= 6) || (major === 22 && minor >= 19)) return 'NODE_USE_SYSTEM_CA=1'
  if (flags.has('--use-system-ca')) return 'NODE_OPTIONS=--use-system-ca'
  return undefined
}

/** The fix for a certificate Node does not trust: the CA file, and the system store where this Node has the option. */
export function trustFix(systemCa: string | undefined = systemCaOption()): string {
  const extra = 'export NODE_EXTRA_CA_CERTS=/path/to/ca.pem (the PEM file of the CA that signs it: ask IT for the proxy\'s CA)'
  return systemCa
    ? `${extra}, or, if that CA is installed in this computer's certificate store, export ${systemCa} (Node then trusts the system store)`
    : `${extra}; Node ${process.versions.node} cannot read the system certificate store (Node 22.19+ or 24.6+ can, with NODE_USE_SYSTEM_CA=1)`
}

/** One sentence for a certificate problem with `host`, saying what to do. */
export function describeCertificateProblem(problem: CertificateProblem, host: string): string {
  if (problem.kind === 'untrusted') {
    return `the TLS certificate of ${host} is not signed by a CA Node trusts (${problem.code}): a TLS-intercepting proxy (a company's, an antivirus's) or a private CA is in the way. To trust it: ${trustFix()}. Never turn certificate checks off.`
  }
  if (problem.kind === 'expired') return `the TLS certificate of ${host} is not valid now (${problem.code}): check this computer's clock (date -u); if it is right, tell the server's admins.`
  return `the TLS certificate of ${host} is for another name (${problem.code}): check --host / ONRAMP_HOST, or whether a proxy answers in the server's place.`
}
