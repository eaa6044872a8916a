import type {Deps} from '../deps.js'

/**
 * Open `url` in the browser, or say why not: the step login and signup's consent share. The URL itself
 * is printed by the caller first (a browser that "opened" may show nothing: `open` resolves at once
 * even without one). When no browser opens, warns `No browser could be opened: <reason>. <otherwise>`
 * (`otherwise`: what the user does instead) and returns false.
 */
export async function openBrowserOrSayWhy(deps: Pick<Deps, 'browser' | 'ui'>, url: string, {otherwise}: {otherwise: string}): Promise<boolean> {
  const unavailable = deps.browser.unavailableReason()
  const opened = unavailable ? {opened: false as const, reason: unavailable} : await deps.browser.open(url)
  if (opened.opened) return true
  deps.ui.warn(`No browser could be opened: ${opened.reason}. ${otherwise}`)
  return false
}
