// `npm run demo`: onramp's whole job on the embedded mock PostHog server, nothing external. Each step is
// printed as `$ onramp ...` with its real output; the step that shows scope drift being stopped before
// anything is requested expects exit 4. Uses a throwaway HOME (the keychain when one is reachable, else
// the file store, and says which), cleans up, and exits 0 only when every step did what it should.
import {spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const WIZARD_CLIENT_ID = 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM'
const WIZARD_CEILING = ['@default', 'llm_gateway:read', 'wizard_session:read', 'wizard_session:write']
const NARROWED_CEILING = ['@default', 'wizard_session:read', 'wizard_session:write'] // llm_gateway:read taken away

if (!existsSync(path.join(root, 'dist', 'commands'))) {
  console.error('dist/ is missing: run `npm run build` first (npm run demo does).')
  process.exit(1)
}

const baseEnv = {...process.env}
delete baseEnv.NODE_ENV
for (const name of ['ONRAMP_HOST', 'ONRAMP_REGION', 'ONRAMP_CLIENT_ID', 'ONRAMP_TOKEN', 'ONRAMP_STORAGE', 'BROWSER']) delete baseEnv[name]

const mock = spawn(process.execPath, ['--import', 'tsx', 'test/mock-server/serve.ts', '--port', '0'], {cwd: root, env: baseEnv, stdio: ['ignore', 'pipe', 'inherit']})
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
const env = {
  ...baseEnv,
  HOME: home,
  XDG_CONFIG_HOME: path.join(home, 'config'),
  XDG_CACHE_HOME: path.join(home, 'cache'),
  XDG_STATE_HOME: path.join(home, 'state'),
  ONRAMP_HOST: issuer,
  ONRAMP_CLIENT_ID: WIZARD_CLIENT_ID,
  BROWSER: `${process.execPath} ${path.join(root, 'scripts', 'scripted-browser.mjs')}`,
  FOLLOW_LOG: path.join(home, 'browser.log'),
}
// The keychain when a Secret Service (or the OS keychain) answers, else the 0600 file: said, not guessed.
const storage = process.env.ONRAMP_STORAGE ?? (keychainReachable() ? 'keychain' : 'file')
env.ONRAMP_STORAGE = storage

const failures = []
/**
 * Runs one step and prints it as it happened: `$ onramp ...` (each argument shell-quoted, so the line pastes),
 * then stdout and stderr interleaved in the order they arrived (login's "Open this URL" comes before "Logged in").
 * `show` rewrites the whole printed text (masking, leaving rows out); `check` judges the result.
 */
async function onramp(args, {expect = 0, show = (text) => text, check} = {}) {
  console.log(`\n$ onramp ${args.map(shellQuote).join(' ')}`)
  const child = spawn(process.execPath, [path.join(root, 'bin', 'run.cjs'), ...args], {cwd: root, env, stdio: ['ignore', 'pipe', 'pipe']})
  const result = {stdout: '', stderr: '', combined: ''}
  child.stdout.on('data', (chunk) => ((result.stdout += chunk), (result.combined += chunk)))
  child.stderr.on('data', (chunk) => ((result.stderr += chunk), (result.combined += chunk)))
  const timer = setTimeout(() => child.kill(), 60_000)
  result.status = await new Promise((resolve) => child.on('close', (code) => resolve(code)))
  clearTimeout(timer)
  const out = show(result.combined, result)
  if (out.trim()) process.stdout.write(indent(out))
  const problem = result.status !== expect ? `exit ${result.status}, expected ${expect}` : check?.(result)
  if (problem) {
    failures.push(`onramp ${args.map(shellQuote).join(' ')}: ${problem}`)
    console.log(`  !! ${problem}`)
  } else if (expect !== 0) {
    console.log(`  (exit ${expect}, as expected)`)
  }
  return result
}

/** One argument as a POSIX shell reads it back: bare when safe, else in double quotes (single when it holds $ ` \\ " !). */
function shellQuote(arg) {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg
  if (!/["$`\\!]/.test(arg)) return `"${arg}"`
  return `'${arg.replaceAll("'", `'\\''`)}'`
}

// The scope table's rows (`SURFACE SCOPE REQUIRED STATUS`), keyed by surface and scope.
const scopeRow = /^(login|signup)\s+(\S+)\s+(?:yes|-)\s+(.*)$/
function scopeRows(text) {
  const rows = new Map()
  for (const line of text.split('\n')) {
    const match = scopeRow.exec(line)
    if (match) rows.set(`${match[1]} ${match[2]}`, {line, status: match[3].trim()})
  }
  return rows
}

/** The second table printed as only the rows whose status changed since `before`, each marked with what it was. */
function onlyChangedRows(before) {
  return (text) => {
    const after = scopeRows(text)
    let changed = 0
    const kept = text.split('\n').flatMap((line) => {
      const match = scopeRow.exec(line)
      if (!match) return [line]
      const was = before.get(`${match[1]} ${match[2]}`)
      if (was && was.status === match[3].trim()) return []
      changed++
      return [`${line}   <- CHANGED (was: ${was?.status ?? 'not listed'})`]
    })
    const note = `(only the ${changed} row(s) that changed since the first check; ${after.size - changed} unchanged row(s) left out)`
    return kept.join('\n').replace(/^(SURFACE\s+SCOPE.*)$/m, `${note}\n$1`)
  }
}

async function admin(say, body) {
  console.log(`\n# ${say}`)
  console.log(`#   (the mock's control API: POST /__mock/apps ${JSON.stringify(body)})`)
  const response = await fetch(`${issuer}/__mock/apps`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})
  if (!response.ok) failures.push(`${say}: HTTP ${response.status}`)
}

async function mockState() {
  return (await fetch(`${issuer}/__mock/state`)).json()
}

const mask = (text) => text.replace(/\b(ph[arxc]_)[A-Za-z0-9]{8,}/g, (_, prefix) => `${prefix}…(masked)`)
const indent = (text) => text.replace(/^/gm, '  ').replace(/\s*$/, '\n')

try {
  console.log(`onramp demo against the embedded mock PostHog server at ${issuer}`)
  console.log(`Sessions are stored in: ${storage === 'keychain' ? 'the OS keychain (secrets) + a 0600 metadata file' : 'a 0600 file (no OS keychain reachable here)'}; HOME=${home}`)

  const firstCheck = await onramp(['scopes', '--check'])
  const email = `demo-${randomBytes(4).toString('hex')}@example.com`
  await onramp(['signup', '--non-interactive', '--email', email], {show: mask})
  await onramp(['status'])
  await onramp(['token'], {show: (text) => `${mask(text.trim())}   (stdout holds the token alone: TOKEN=$(onramp token))\n`, check: (r) => (/^pha_\w+\n$/.test(r.stdout) ? undefined : 'no token on stdout')})

  await admin("The server's admins narrow the wizard app's ceiling: llm_gateway:read is no longer allowed", {client_id: WIZARD_CLIENT_ID, scopes: NARROWED_CEILING})
  const stopsBefore = (await mockState()).counters?.requests ?? {}
  await onramp(['scopes', '--check'], {expect: 4, show: onlyChangedRows(scopeRows(firstCheck.stdout)), check: (r) => (/llm_gateway:read/.test(r.stdout) ? undefined : 'the missing scope is not named')})
  await onramp(['login'], {
    expect: 4,
    check: (r) =>
      !/llm_gateway:read/.test(r.stderr) ? 'the missing scope is not named'
      : !/server's admins/.test(r.stderr) ? 'does not say who can fix it'
      : /oauth\/authorize/.test(r.stderr) ? 'a browser step started'
      : undefined,
  })
  const authorizeCalls = (state) => Object.entries(state).filter(([key]) => key.includes('/oauth/authorize')).reduce((sum, [, n]) => sum + n, 0)
  if (authorizeCalls((await mockState()).counters?.requests ?? {}) !== authorizeCalls(stopsBefore)) failures.push('login reached /oauth/authorize despite the narrowed ceiling')
  else {
    console.log('  Stopped before any browser opened: the server saw no authorization request.')
    console.log(
      '  Why it matters: without the stop, the server would have issued a session without llm_gateway:read (consent grants only what the ceiling allows) and login would have said OK; the first LLM gateway call would then fail with 401, an hour later, far from the cause.',
    )
  }

  await admin('The admins restore the ceiling', {client_id: WIZARD_CLIENT_ID, scopes: WIZARD_CEILING})
  await onramp(['login'], {check: (r) => (/Logged in/.test(r.stdout) ? undefined : 'no login summary')})
  await onramp(['projects', 'create', '--id', `demo-${randomBytes(3).toString('hex')}`, '--name', 'Demo run'], {show: mask})
  const refreshesBefore = (await mockState()).counters?.grants?.refresh_token ?? 0
  await onramp(['token', '--min-valid', '7200'], {
    show: (text) => `${mask(text.trim())}   (refreshed: it would not have lasted 2 h)\n`,
  })
  const refreshesAfter = (await mockState()).counters?.grants?.refresh_token ?? 0
  if (refreshesAfter !== refreshesBefore + 1) failures.push(`expected one refresh at the server, saw ${refreshesAfter - refreshesBefore}`)
  else console.log('  The server saw exactly one refresh; the rotated refresh token was stored.')
  await onramp(['logout', '--all'])
} finally {
  mock.kill()
  rmSync(home, {recursive: true, force: true})
}

if (failures.length > 0) {
  console.log(`\nDemo FAILED:\n${failures.map((failure) => `  - ${failure}`).join('\n')}`)
  process.exitCode = 1
} else {
  console.log('\nDemo OK: every step did what it should.')
}

/** A Secret Service / keychain round trip in a child process, so a hung D-Bus cannot hang the demo. */
function keychainReachable() {
  const probe = `
    const {AsyncEntry} = require('@napi-rs/keyring')
    const entry = new AsyncEntry('onramp-demo-probe', 'probe', {linux: {store: 'secret-service'}})
    entry.setPassword('x').then(() => entry.deleteCredential()).then(() => process.exit(0), () => process.exit(1))`
  const result = spawnSync(process.execPath, ['-e', probe], {cwd: root, env: baseEnv, timeout: 5000, stdio: 'ignore'})
  return result.status === 0
}
