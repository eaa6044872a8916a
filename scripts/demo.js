// `npm run demo`: the main job on the embedded default. Starts the mock PostHog server on a free
// loopback port, logs in against it with a scripted browser that clicks Authorize on the consent
// page, then shows status, token and logout. Uses a throwaway HOME: real sessions are not touched.
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const WIZARD_CLIENT_ID = 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM'

const env = {...process.env}
delete env.NODE_ENV
const mock = spawn(process.execPath, ['--import', 'tsx', 'test/mock-server/serve.ts', '--port', '0'], {cwd: root, env, stdio: ['ignore', 'pipe', 'inherit']})
const issuer = await new Promise((resolve, reject) => {
  let out = ''
  mock.stdout.on('data', (chunk) => {
    out += chunk
    const match = /mock server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
    if (match) resolve(match[1])
  })
  mock.on('exit', (code) => reject(new Error(`the mock server exited (${code}) before listening`)))
})

const home = mkdtempSync(path.join(tmpdir(), 'onramp-demo-'))
const cliEnv = {
  ...env,
  HOME: home,
  XDG_CONFIG_HOME: path.join(home, 'config'),
  XDG_CACHE_HOME: path.join(home, 'cache'),
  XDG_STATE_HOME: path.join(home, 'state'),
  ONRAMP_STORAGE: 'file',
  ONRAMP_HOST: issuer,
  ONRAMP_CLIENT_ID: WIZARD_CLIENT_ID,
  BROWSER: `${process.execPath} ${path.join(root, 'scripts', 'scripted-browser.mjs')}`,
}
let failed = false
function onramp(args, {capture = false} = {}) {
  console.log(`\n$ onramp ${args.join(' ')}`)
  const result = spawnSync(process.execPath, [path.join(root, 'bin', 'run.js'), ...args], {
    cwd: root,
    env: cliEnv,
    stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    encoding: 'utf8',
  })
  if (result.status !== 0) {
    failed = true
    console.error(`(exit ${result.status})`)
  }
  return result.stdout
}

try {
  console.log(`Mock PostHog server: ${issuer} (the built-in wizard app ${WIZARD_CLIENT_ID})`)
  onramp(['scopes', '--check'])
  onramp(['login'])
  onramp(['status'])
  const token = (onramp(['token'], {capture: true}) ?? '').trim()
  console.log(token ? `${token.slice(0, 4)}… (${token.length} characters; printed alone on stdout for scripts)` : '(no token)')
  onramp(['logout'])
} finally {
  mock.kill()
  rmSync(home, {recursive: true, force: true})
}
process.exitCode = failed ? 1 : 0
