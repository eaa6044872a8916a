import {lookup} from 'node:dns/promises'
import {connect as tcpConnect, isIP} from 'node:net'

import {configureConnections} from '../../http.js'
import {displayProxy, proxyFor} from '../proxy.js'
import {fail, ok, warn, type CheckResult, type DoctorContext} from '../types.js'

interface FamilyResult {
  family: 4 | 6
  address: string | undefined
  /** Milliseconds to connect, or why it did not. */
  outcome: number | string
}

/**
 * server.connect: how long a TCP connection to the issuer takes, per address family (IPv4, IPv6), as
 * Node's happy eyeballs tries them. A far region or a broken family shows here before a login fails:
 * each address gets the per-address attempt timeout (README "Network") before the next is tried.
 */
export async function checkConnect(ctx: DoctorContext): Promise<CheckResult> {
  const id = 'server.connect'
  const url = new URL(ctx.server.issuer)
  const choice = proxyFor(ctx.server.issuer, ctx.deps.env)
  if (choice.kind === 'proxy') return ok('network', id, `not measured: ${url.host} is reached through ${choice.variable}=${displayProxy(choice.url)}`)
  if (ctx.findings.badPort) {
    // Whatever a TCP probe found (ECONNREFUSED, or something listening), onramp's requests never go there.
    return warn('network', id, `not measured: port ${ctx.findings.badPort} is not allowed, so onramp never connects there (see server.discovery)`, 'fix server.discovery first, then run onramp doctor again')
  }
  const attemptMs = configureConnections(ctx.deps.env)
  const hostname = url.hostname.replace(/^\[|\]$/g, '')
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80)
  let addresses: {address: string; family: number}[]
  try {
    addresses = isIP(hostname) ? [{address: hostname, family: isIP(hostname)}] : await lookup(hostname, {all: true})
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error)
    if (ctx.findings.discovery?.ok) return ok('network', id, `not measured: ${hostname} does not resolve here (${code}), yet its metadata came back (a proxy or an interceptor answers)`)
    return fail('network', id, `${hostname} does not resolve (${code})`, 'check --host / ONRAMP_HOST and your DNS or VPN')
  }
  const timeoutMs = Math.min(ctx.serverTimeoutMs, 10_000)
  const results: FamilyResult[] = await Promise.all(
    ([4, 6] as const).map(async (family) => {
      const address = addresses.find((candidate) => candidate.family === family)?.address
      return {family, address, outcome: address === undefined ? 'no address' : await timeConnect(address, port, timeoutMs)}
    }),
  )
  const shown = results.map(({family, address, outcome}) =>
    address === undefined ? `IPv${family}: no address` : `IPv${family} ${address}: ${typeof outcome === 'number' ? `connected in ${outcome} ms` : outcome}`,
  )
  const summary = `${url.host}: ${shown.join('; ')} (each address gets ${attemptMs} ms)`
  const connected = results.filter((result) => typeof result.outcome === 'number')
  if (connected.length === 0 && ctx.findings.discovery?.ok) return ok('network', id, `${summary}; not measured directly, yet the metadata came back (a proxy or an interceptor answers)`)
  if (connected.length === 0) return fail('network', id, summary, 'check the host, your connection or firewall, or set HTTPS_PROXY')
  const broken = results.filter((result) => result.address !== undefined && typeof result.outcome === 'string')
  if (broken.length > 0) {
    return warn('network', id, summary, `IPv${broken[0]!.family} does not connect: onramp falls back to the other family after ${attemptMs} ms per address; fix that network's IPv${broken[0]!.family} route to save the wait`)
  }
  const slowest = Math.max(...connected.map((result) => result.outcome as number))
  if (slowest > attemptMs) {
    return warn('network', id, `${summary}: slower than the attempt timeout`, `set ONRAMP_CONNECT_ATTEMPT_TIMEOUT_MS=${Math.ceil((slowest * 2) / 1000) * 1000} (or use a network closer to the server)`)
  }
  return ok('network', id, summary)
}

/** Milliseconds until a TCP connection to `address:port` is up, or why it was not within `timeoutMs`. */
function timeConnect(address: string, port: number, timeoutMs: number): Promise<number | string> {
  const started = performance.now()
  return new Promise((resolve) => {
    const socket = tcpConnect({host: address, port, autoSelectFamily: false})
    const done = (result: number | string) => {
      socket.destroy()
      resolve(result)
    }
    socket.setTimeout(timeoutMs, () => done(`no answer in ${timeoutMs / 1000} s`))
    socket.once('connect', () => done(Math.max(1, Math.round(performance.now() - started))))
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message))
  })
}
