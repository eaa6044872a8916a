import {setupServer, type SetupServer} from 'msw/node'
import {afterAll, afterEach, beforeAll} from 'vitest'

/**
 * MSW in-process for the file's tests (no port, no process): listening from the first test, unmatched
 * requests fail loudly, the handlers a test adds with `server.use(...)` are dropped after it. Returns
 * the server (`server`, or a new one).
 */
export function mswForFile(server: SetupServer = setupServer()): SetupServer {
  beforeAll(() => server.listen({onUnhandledRequest: 'error'}))
  afterEach(() => server.resetHandlers())
  afterAll(() => server.close())
  return server
}
