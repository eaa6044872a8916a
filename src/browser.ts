import type {ChildProcess} from 'node:child_process'

/**
 * The browser port: opens the authorization URL with `$BROWSER` when set (like gh and git), else the
 * `open` package. `open` resolves even when no browser exists (headless Linux), so the flow always
 * prints the URL too, and asks `unavailableReason()` first to say at once when none can open.
 */
export interface Browser {
  /** Why no browser can open here (no display, an SSH session), or undefined when one probably can. */
  unavailableReason(): string | undefined
  open(url: string): Promise<BrowserOpened>
}

export type BrowserOpened = {opened: true} | {opened: false; reason: string}

/** How long an opener may take to fail before we believe it started a browser. */
const OPENER_GRACE_MS = 500

export function createBrowser({env, platform = process.platform}: {env: NodeJS.ProcessEnv; platform?: NodeJS.Platform}): Browser {
  return {
    unavailableReason: () => browserUnavailableReason(env, platform),
    async open(url) {
      try {
        if (env.BROWSER) {
          // The URL goes in argv, never through a shell: it carries & and ? characters.
          const [command, ...args] = env.BROWSER.split(' ').filter(Boolean)
          if (!command) return {opened: false, reason: '$BROWSER is blank'}
          const {spawn} = await import('node:child_process') // loaded only to open a browser, not on every command
          return await started(spawn(command, [...args, url], {stdio: 'ignore', detached: true, env}), '$BROWSER')
        }
        const {default: open} = await import('open')
        return await started(await open(url), 'the system opener')
      } catch (error) {
        return {opened: false, reason: error instanceof Error ? error.message : String(error)}
      }
    },
  }
}

/** A display-less Linux or an SSH session cannot show a browser, unless the user named one in $BROWSER. */
export function browserUnavailableReason(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string | undefined {
  if (env.BROWSER?.trim()) return undefined
  if (env.SSH_CONNECTION || env.SSH_TTY) return 'this is an SSH session (SSH_CONNECTION is set), so a browser would open on the other machine, if at all'
  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) return 'there is no display (DISPLAY and WAYLAND_DISPLAY are unset)'
  return undefined
}

/** Resolves once the opener runs for a moment without failing: a spawn error or a quick non-zero exit is a failure. */
function started(child: ChildProcess, name: string): Promise<BrowserOpened> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.unref()
      resolve({opened: true})
    }, OPENER_GRACE_MS)
    child.once('error', (error) => {
      clearTimeout(timer)
      resolve({opened: false, reason: `${name} could not start (${error.message})`})
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code === 0 || code === null ? {opened: true} : {opened: false, reason: `${name} exited with code ${code}`})
    })
  })
}
