import {createServer, type AddressInfo} from 'node:net'

/**
 * A loopback port free right now: bound on 127.0.0.1, then released. For a server the test starts on it
 * next (it may be taken in between: retry on EADDRINUSE), a redirect port a server registers, or a port
 * nothing answers on (a connection there is refused).
 */
export async function freeLoopbackPort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', resolve)
  })
  const {port} = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}
