/** Loads `url`, submits any consent form with the chosen button, and follows redirects to the end. */
export function follow(url: string, action?: 'authorize' | 'deny'): Promise<void>
/** Like `follow`, but returns the redirect back to the CLI without loading it (for --no-browser pastes). */
export function landingUrl(url: string, action?: 'authorize' | 'deny', redirectUri?: string): Promise<string>
