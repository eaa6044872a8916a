import {spawn, type ChildProcess} from 'node:child_process'

import {cliEnv, ROOT} from './cli.js'

export interface MockProcess {
  issuer: string
  child: ChildProcess
  /** GET/POST the mock's HTTP control surface under /__mock/. */
  control<T = unknown>(path: string, body?: unknown): Promise<T>
  stop(): Promise<void>
}

/** `npm run mock-server` as a real process on a free loopback port (what the e2e tests and the demo use). */
export async function startMockProcess(args: string[] = []): Promise<MockProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/mock-server/serve.ts', '--port', '0', ...args], {
    cwd: ROOT,
    env: cliEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const issuer = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`mock server did not start in time: ${stderr}`)), 20_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /mock server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`mock server exited with ${code}: ${stderr}`))
    })
  })
  return {
    issuer,
    child,
    async control<T>(path: string, body?: unknown): Promise<T> {
      const response = await fetch(`${issuer}/__mock/${path}`, body === undefined ? {} : {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})
      if (!response.ok) throw new Error(`mock control ${path}: HTTP ${response.status} ${await response.text()}`)
      return (await response.json()) as T
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill()
      }),
  }
}
