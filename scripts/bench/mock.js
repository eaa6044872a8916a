// The served mock (test/mock-server/serve.ts) as a child process on a free loopback port, with its
// control API (test/mock-server/README.md). The process is killed by support.js's cleanup on any exit.
import {spawn} from 'node:child_process'

import {baseEnv, root, track} from './support.js'

export async function startMock() {
  const child = track(spawn(process.execPath, ['--import', 'tsx', 'test/mock-server/serve.ts', '--port', '0'], {cwd: root, env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe']}))
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const issuer = await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`the mock server did not start within 30 s: ${stderr}`)), 30_000)
    child.stdout.on('data', (chunk) => {
      out += chunk
      const match = /mock server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (match) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the mock server exited (${code}) before listening: ${stderr}`))
    })
  })
  const control = async (name, body, retried = false) => {
    // The mock closes idle keep-alive sockets (5 s); a request that raced that close is sent again once.
    const response = await fetch(`${issuer}/__mock/${name}`, body === undefined ? {} : {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)}).catch((error) => {
      if (retried) throw error
      return undefined
    })
    if (!response) return control(name, body, true)
    if (!response.ok) throw new Error(`mock control ${name}: HTTP ${response.status} ${await response.text()}`)
    return response.json()
  }
  return {
    issuer,
    control,
    state: () => control('state'),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill()
      }),
  }
}
