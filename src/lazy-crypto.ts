import {createRequire} from 'node:module'

/**
 * node:crypto, loaded on first use: it costs ~10 ms to load, and `onramp token` reading a stored session
 * (the command scripts call in loops) needs it only when it writes (a lock, an atomic write, a refresh).
 */
export const crypto = (): typeof import('node:crypto') => createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')
