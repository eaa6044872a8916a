import {createServer} from 'node:net'

import {rememberedClient} from '../../oauth/registration.js'
import {fail, ok, warn, type Check} from '../types.js'
import {withoutLoopbackFix} from './device-grant.js'

type Probe = 'free' | 'held' | 'absent'

/**
 * login.ports: the loopback ports login will try (the app's registered ones on the built-in regions,
 * on 127.0.0.1 and ::1; a remembered registered client's port elsewhere), each bound and closed at
 * once to see whether something else holds it.
 */
export const checkPorts: Check = async (ctx) => {
  const id = 'login.ports'
  const {server} = ctx
  let ports: readonly number[]
  let addresses: string[]
  let fallback = false
  if (server.redirect.host === 'localhost') {
    ports = server.redirect.ports
    addresses = ['127.0.0.1', '::1']
  } else {
    // As login does: a remembered (dynamically registered) client only when no client id was given.
    const remembered = server.clientId ? undefined : rememberedClient({configDir: ctx.deps.paths.config, issuer: server.issuer})
    const port = remembered ? Number(new URL(remembered.redirect_uri).port) : 0
    if (!port) return [ok('login', id, `login listens on any free port of 127.0.0.1 (RFC 8252)`)]
    ports = [port]
    addresses = ['127.0.0.1']
    fallback = true // login registers a new client on another port if this one is taken
  }
  const held: string[] = []
  const heldPorts: number[] = []
  for (const port of ports) {
    const where: string[] = []
    for (const address of addresses) if ((await probe(address, port)) === 'held') where.push(address)
    if (where.length > 0) {
      held.push(`${port} (${where.join(', ')})`)
      heldPorts.push(port)
    }
  }
  const list = ports.join(', ')
  if (held.length === 0) return [ok('login', id, `registered port${ports.length > 1 ? 's' : ''} ${list} free on ${addresses.join(' and ')}`)]
  const fix = `see what holds ${heldPorts.length > 1 ? 'them' : 'it'}: lsof ${heldPorts.map((port) => `-i :${port}`).join(' ')} (then stop it, or pass login --port with a free registered port)`
  if (heldPorts.length === ports.length && !fallback) {
    return [fail('login', id, `every registered port is held by another program: ${held.join(', ')}; login cannot receive the redirect`, `${fix}; or ${withoutLoopbackFix(ctx)}`)]
  }
  const next = fallback ? 'login will register a new client on another port' : `login uses the next free one (${ports.filter((port) => !heldPorts.includes(port)).join(', ')})`
  return [warn('login', id, `registered port held by another program: ${held.join(', ')}; ${next}`, fix)]
}

/** Binds and closes at once. `absent`: no such address here (no IPv6), which login skips too. */
function probe(host: string, port: number): Promise<Probe> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code === 'EADDRINUSE' || error.code === 'EACCES' ? 'held' : 'absent')
    })
    server.listen({host, port, exclusive: true}, () => server.close(() => resolve('free')))
  })
}
