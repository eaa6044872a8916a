/** Loads `url`, submits any consent form with the chosen button, and follows redirects to the end. */
export function follow(url: string, action?: 'authorize' | 'deny'): Promise<void>
