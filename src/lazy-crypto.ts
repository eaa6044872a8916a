/**
 * node:crypto, loaded on first use: it costs ~10 ms to load, and `onramp token` reading a stored session
 * (the command scripts call in loops) needs it only when it writes (a lock, an atomic write, a refresh).
 * process.getBuiltinModule (Node >= 20.16) rather than createRequire: node:module itself costs a millisecond.
 */
export const crypto = (): typeof import('node:crypto') => process.getBuiltinModule('node:crypto')
