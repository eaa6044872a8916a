import {createServer} from 'node:http'
import net from 'node:net'

/** A minimal HTTP CONNECT proxy on 127.0.0.1 that records which hosts were tunnelled through it. */
export async function startConnectProxy(): Promise<{url: string; tunnels: string[]; close: () => Promise<void>}> {
  const tunnels: string[] = []
  const server = createServer((_request, response) => response.writeHead(405).end())
  server.on('connect', (request, socket, head) => {
    tunnels.push(request.url ?? '')
    const [host, port] = (request.url ?? '').split(':')
    const upstream = net.connect(Number(port), host!, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    upstream.on('error', () => socket.destroy())
    socket.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
