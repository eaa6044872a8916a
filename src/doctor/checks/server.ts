import {connect} from 'node:net'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {describeFetchError, type Fetch} from '../../http.js'
import {discover} from '../../oauth/discovery.js'
import {displayProxy, proxyFor} from '../proxy.js'
import {checkConnect} from './connect.js'
import {certificateProblem, errorCodes, trustFix} from '../../tls.js'
import {fail, ok, warn, type Check, type CheckResult, type DoctorContext} from '../types.js'

/** server.proxy, then server.discovery: how the issuer is reached, and whether it answers. */
export const checkServer: Check = async (ctx) => {
  const proxy = await checkProxy(ctx)
  const discovery = await checkDiscovery(ctx)
  return [proxy, discovery, await checkConnect(ctx)]
}

async function checkProxy(ctx: DoctorContext): Promise<CheckResult> {
  const id = 'server.proxy'
  const host = new URL(ctx.server.issuer).host
  const choice = proxyFor(ctx.server.issuer, ctx.deps.env)
  if (choice.kind === 'none') return ok('network', id, `no proxy variable applies to ${host}: direct connection`)
  if (choice.kind === 'no_proxy') {
    return ok('network', id, `${choice.variable} entry "${choice.entry}" matches ${host}: direct connection (${choice.proxyVariable} not used)`)
  }
  const shown = displayProxy(choice.url)
  const reachable = await probeProxy(choice.url)
  if (reachable === true) return ok('network', id, `${choice.variable} applies to ${host}: via ${shown}`)
  ctx.findings.proxyUnreachable = `${choice.variable}=${shown}`
  return fail(
    'network',
    id,
    `${choice.variable} applies to ${host}, but the proxy ${shown} is unreachable (${reachable})`,
    `point ${choice.variable} at a running proxy, or unset ${choice.variable} (unset ${choice.variable})`,
  )
}

/** A TCP connection to the proxy itself: true, or why it failed (ECONNREFUSED, ENOTFOUND, timed out). */
function probeProxy(proxyUrl: string, timeoutMs = 3000): Promise<true | string> {
  let url: URL
  try {
    url = new URL(proxyUrl)
  } catch {
    return Promise.resolve('not a URL')
  }
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80)
  return new Promise((resolve) => {
    const socket = connect({host: url.hostname.replace(/^\[|\]$/g, ''), port})
    const done = (result: true | string) => {
      socket.destroy()
      resolve(result)
    }
    socket.setTimeout(timeoutMs, () => done(`no answer in ${timeoutMs / 1000} s`))
    socket.once('connect', () => done(true))
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message))
  })
}

/**
 * Fetches the metadata for real (a throwaway cache folder, so the cached copy cannot hide an outage),
 * timing it and keeping the `Date` header for the clock check.
 */
async function checkDiscovery(ctx: DoctorContext): Promise<CheckResult> {
  const id = 'server.discovery'
  const {issuer} = ctx.server
  if (ctx.findings.proxyUnreachable) {
    ctx.findings.discovery = {ok: false, reason: 'the proxy is unreachable'}
    return warn('network', id, `not checked: ${issuer} is reached through ${ctx.findings.proxyUnreachable}, which is unreachable`, 'fix server.proxy first, then run onramp doctor again')
  }
  let date: string | null = null
  let receivedAt = ctx.deps.now()
  // A referenced controller (not AbortSignal.timeout): on Node 20 a timeout signal inside any() can be collected.
  const deadline = new AbortController()
  const timer = setTimeout(() => deadline.abort(new DOMException('timed out', 'TimeoutError')), ctx.serverTimeoutMs)
  const measuring: Fetch = async (input, init = {}) => {
    const signal = init.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal
    const response = await ctx.deps.http(input, {...init, signal})
    receivedAt = ctx.deps.now()
    date = response.headers.get('date') ?? date
    return response
  }
  const cache = await mkdtemp(path.join(os.tmpdir(), 'onramp-doctor-'))
  const started = Date.now()
  try {
    const {metadata} = await discover({...ctx.deps, http: measuring, paths: {cache}}, issuer)
    const ms = Date.now() - started
    ctx.findings.discovery = {ok: true, metadata, ms, date, receivedAt}
    const summary = `${issuer} answered its metadata in ${ms} ms`
    if (ms > 5000) return warn('network', id, `${summary} (slow)`, 'check the connection or the proxy: logins and refreshes will be slow too')
    return ok('network', id, summary)
  } catch (error) {
    const reason = deadline.signal.aborted ? `no answer in ${ctx.serverTimeoutMs / 1000} s` : describeFailure(error)
    ctx.findings.discovery = {ok: false, reason}
    if ((error as {code?: string})?.code === 'bad_port') {
      // Not a network problem: fetch never tries such a port (login and token say bad_port too).
      const port = new URL(issuer).port
      ctx.findings.badPort = port
      return fail(
        'network',
        id,
        `${issuer}: port ${port} is not allowed (fetch refuses ports kept for other protocols, such as 1, 25 or 6000), so no server there can answer onramp`,
        'check the port in --host / ONRAMP_HOST / .onramp.json: 443 for https, or the one your local server prints',
      )
    }
    const proxy = proxyFor(issuer, ctx.deps.env)
    const via = proxy.kind === 'proxy' ? ` (through ${proxy.variable}=${displayProxy(proxy.url)})` : ''
    return failureResult(id, issuer, error, `${reason}${via}`)
  } finally {
    clearTimeout(timer)
    await rm(cache, {recursive: true, force: true})
  }
}

function failureResult(id: string, issuer: string, error: unknown, reason: string): CheckResult {
  const certificate = certificateProblem(error)
  if (certificate?.kind === 'untrusted') {
    return fail(
      'network',
      id,
      `TLS error from ${issuer}: ${certificate.code} (the certificate is not signed by a CA Node trusts: a TLS-intercepting proxy or a private CA)`,
      trustFix(),
    )
  }
  if (certificate?.kind === 'expired') {
    return fail('network', id, `TLS error from ${issuer}: ${certificate.code}`, `check this machine's clock (date -u); if it is right, the server's certificate has expired: tell its admins`)
  }
  if (certificate) return fail('network', id, `TLS error from ${issuer}: ${certificate.code} (the certificate is for another name)`, 'check --host / ONRAMP_HOST: pass the exact issuer URL')
  const exit = (error as {exit?: number})?.exit
  if ((error as {code?: string})?.code === 'firewall_challenge') {
    return fail('network', id, (error as Error).message.replace(/\. Networks of .*$/, ''), 'try another network, or set HTTPS_PROXY to a proxy that is let through')
  }
  if (exit === 2) return fail('network', id, `${issuer} did not serve usable OAuth metadata: ${reason}`, 'check --host / ONRAMP_HOST: pass the exact issuer URL')
  return fail('network', id, `no metadata from ${issuer}: ${reason}`, 'check the host, your connection, or HTTPS_PROXY / NO_PROXY')
}

function describeFailure(error: unknown): string {
  const codes = errorCodes(error).filter((code) => !/^[a-z_]+$/.test(code)) // ours are snake_case
  if (codes.length > 0) return codes[codes.length - 1]!
  if (error instanceof Error && 'exit' in error) return error.message
  return describeFetchError(error)
}
