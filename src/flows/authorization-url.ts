import type {Deps} from '../deps.js'
import {NotLoggedInError} from '../errors.js'
import {openBrowserOrSayWhy} from './open-browser.js'

/**
 * Shows an authorization (or consent) URL, for login and signup's consent alike: always printed (`open`
 * succeeds even where no browser exists), then opened in the browser unless `browser` is false. Returns
 * whether pasted redirect URLs are accepted: with --no-browser, and on a terminal when no browser could
 * open (SSH, no display), while the loopback keeps listening.
 */
export async function showAuthorizationUrl(
  deps: Pick<Deps, 'ui' | 'browser'>,
  {url, redirectUri, browser, command, intro = 'Open this URL in your browser to continue'}: {url: URL | string; redirectUri: string; browser: boolean; command: string; intro?: string},
): Promise<boolean> {
  const href = typeof url === 'string' ? url : url.href
  const pasteHint = `then paste the address you are sent back to here (it starts with ${redirectUri})`
  if (!browser) {
    deps.ui.info(`Open this URL in a browser, ${pasteHint}:\n  ${href}`)
    return true
  }
  deps.ui.info(`${intro}:\n  ${href}`)
  const otherwise = deps.ui.interactive
    ? `Open the URL above on any machine, ${pasteHint}; a redirect that reaches this machine also works.`
    : `Open the URL above in a browser on this machine, or run ${command}${command === 'onramp login' ? ' --no-browser' : ''} on a terminal to paste the redirect instead.`
  if (await openBrowserOrSayWhy(deps, href, {otherwise})) return false
  return deps.ui.interactive
}

/** `--no-browser` where nothing can be pasted (stdin is not a terminal, CI): exit 3 at once, saying how. */
export function pasteNeedsTerminal(command: string): NotLoggedInError {
  return new NotLoggedInError(
    `${command} --no-browser waits for the redirect URL to be pasted, and there is no terminal to paste it into (stdin is not a terminal, or CI is set). ` +
      `Run ${command} --no-browser in a terminal, open the URL it prints in any browser and paste back the address you land on; or run it without --no-browser where a browser can open.`,
    {code: 'paste_needs_terminal', nextCommand: `${command} --no-browser`},
  )
}
