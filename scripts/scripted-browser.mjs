#!/usr/bin/env node
// A tiny stand-in for a browser, used as $BROWSER by `npm run demo` and the end-to-end tests: it loads the authorization
// URL, submits the consent form (Authorize, or Deny with FOLLOW_ACTION=deny) and follows the
// redirects to the CLI's loopback callback, like a person clicking through. FOLLOW_FORGE_FIRST=1
// first sends a forged callback with a wrong state.
// FOLLOW_LOG, when set, receives one line per request for the test to read.
import {appendFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const log = (line) => process.env.FOLLOW_LOG && appendFileSync(process.env.FOLLOW_LOG, line + '\n')

/** Loads `url`, submits any consent form with the chosen button, and follows redirects to the end. */
export async function follow(url, action = 'authorize') {
  await visit(url, {}, {action})
}

/**
 * Like `follow`, but stops at the redirect back to the CLI and returns that address without loading
 * it: what a person on another machine copies from the address bar for `onramp login --no-browser`.
 * `redirectUri` for a URL that does not carry it (signup's consent comes back on the app's first one).
 */
export async function landingUrl(url, action = 'authorize', redirectUri = new URL(url).searchParams.get('redirect_uri')) {
  return visit(url, {}, {action, stopAt: (next) => next.startsWith(`${redirectUri}?`)})
}

/** A forged callback with a wrong state (for tests): the CLI must refuse it and keep waiting. */
async function forgeCallback(url) {
  const redirectUri = new URL(url).searchParams.get('redirect_uri')
  const response = await fetch(`${redirectUri}?code=forged&state=forged`)
  log(`forged callback -> ${response.status}`)
}

/** Returns the last URL reached (or the one `stopAt` stopped before). */
async function visit(url, init, options) {
  const {action, stopAt} = options
  if (stopAt?.(url)) return url
  log(`${init.method ?? 'GET'} ${url}`)
  const response = await fetch(url, {...init, redirect: 'manual'})
  const location = response.headers.get('location')
  if (response.status >= 300 && response.status < 400 && location) return visit(new URL(location, url).href, {}, options)
  const body = await response.text()
  log(`-> ${response.status}`)
  if (!/<form/i.test(body)) return url
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(body) ?? /<form[^>]*>([\s\S]*?)<\/form>/i.exec(body)
  const formAction = form && form.length === 3 ? decode(form[1]) : url
  const inner = form ? form[form.length - 1] : body
  const fields = new URLSearchParams()
  for (const match of inner.matchAll(/<input[^>]*>/gi)) {
    const name = /name="([^"]*)"/i.exec(match[0])?.[1]
    const value = /value="([^"]*)"/i.exec(match[0])?.[1] ?? ''
    if (name && !/type="submit"/i.test(match[0])) fields.append(decode(name), decode(value))
  }
  const wanted = action === 'deny' ? /deny/i : /authori[sz]e|allow|approve/i
  const submits = [
    ...[...inner.matchAll(/<button([^>]*)>([\s\S]*?)<\/button>/gi)].map((m) => ({attrs: m[1], label: m[2]})),
    ...[...inner.matchAll(/<input([^>]*type="submit"[^>]*)>/gi)].map((m) => ({attrs: m[1], label: ''})),
  ]
  const chosen = submits.find(({attrs, label}) => wanted.test(label) || wanted.test(/value="([^"]*)"/i.exec(attrs)?.[1] ?? ''))
  if (!chosen) throw new Error(`no ${action} button on the page`)
  const name = /name="([^"]*)"/i.exec(chosen.attrs)?.[1]
  if (name) fields.append(decode(name), decode(/value="([^"]*)"/i.exec(chosen.attrs)?.[1] ?? ''))
  return visit(new URL(formAction, url).href, {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: fields.toString()}, options)
}

function decode(value) {
  return value.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.argv.at(-1)
  const forged = process.env.FOLLOW_FORGE_FIRST === '1' ? forgeCallback(url) : Promise.resolve()
  forged.then(() => follow(url, process.env.FOLLOW_ACTION ?? 'authorize')).catch((error) => {
    log(`error ${error.message}`)
    process.exitCode = 1
  })
}
