/**
 * Which proxy variable applies to a URL, by the rules of undici's EnvHttpProxyAgent (what
 * src/http.ts installs): lower case before upper case, HTTPS_PROXY for https falling back to
 * HTTP_PROXY, and NO_PROXY entries (`*`, `host`, `.domain`, `*.domain`, `host:port`) matching the
 * host or a subdomain of it.
 */
export type ProxyChoice =
  | {kind: 'none'}
  | {kind: 'no_proxy'; variable: string; entry: string; proxyVariable: string}
  | {kind: 'proxy'; variable: string; url: string}

export function proxyFor(target: string, env: NodeJS.ProcessEnv): ProxyChoice {
  const url = new URL(target)
  const pick = (...names: string[]) => {
    for (const name of names) if (env[name]) return {variable: name, url: env[name]!}
    return undefined
  }
  const http = pick('http_proxy', 'HTTP_PROXY')
  const proxy = url.protocol === 'https:' ? (pick('https_proxy', 'HTTPS_PROXY') ?? http) : http
  if (!proxy) return {kind: 'none'}
  const noProxy = pick('no_proxy', 'NO_PROXY')
  if (noProxy) {
    const entry = noProxyMatch(url, noProxy.url)
    if (entry) return {kind: 'no_proxy', variable: noProxy.variable, entry, proxyVariable: proxy.variable}
  }
  return {kind: 'proxy', variable: proxy.variable, url: proxy.url}
}

function noProxyMatch(url: URL, value: string): string | undefined {
  if (value.trim() === '*') return '*'
  const hostname = url.host.replace(/:\d*$/, '').toLowerCase()
  const port = Number.parseInt(url.port, 10) || (url.protocol === 'https:' ? 443 : 80)
  for (const raw of value.split(/[,\s]/)) {
    if (!raw) continue
    const parsed = /^(.+):(\d+)$/.exec(raw)
    const host = (parsed ? parsed[1]! : raw).replace(/^\*?\./, '').toLowerCase()
    if (parsed && Number(parsed[2]) !== port) continue
    if (hostname === host || hostname.endsWith(`.${host}`)) return raw
  }
  return undefined
}

/** A proxy URL fit for output: no user:password. */
export function displayProxy(value: string): string {
  try {
    const url = new URL(value)
    url.username = ''
    url.password = ''
    return url.href.replace(/\/$/, '')
  } catch {
    return '(unparseable URL)'
  }
}
