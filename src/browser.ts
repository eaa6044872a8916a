import {spawn} from 'node:child_process'

import type {Writer} from './output.js'

/**
 * Opens the authorization URL: `$BROWSER` when set (like gh and git), else the `open` package. The
 * URL is always printed too, because `open` resolves even when no browser exists (headless Linux).
 */
export async function openBrowser(url: string, {env, stderr}: {env: NodeJS.ProcessEnv; stderr: Writer}): Promise<void> {
  stderr.write(`Open this URL in your browser to continue:\n  ${url}\n`)
  try {
    if (env.BROWSER) {
      // The URL goes in argv, never through a shell: it carries & and ? characters.
      const [command, ...args] = env.BROWSER.split(' ').filter(Boolean)
      if (!command) return
      const child = spawn(command, [...args, url], {stdio: 'ignore', detached: true, env})
      child.on('error', (error) => stderr.write(`Could not start $BROWSER (${error.message}); open the URL above yourself.\n`))
      child.unref()
      return
    }
    const {default: open} = await import('open')
    const child = await open(url)
    child.on('error', () => {})
    child.unref()
  } catch (error) {
    stderr.write(`Could not open a browser (${error instanceof Error ? error.message : String(error)}); open the URL above yourself.\n`)
  }
}
