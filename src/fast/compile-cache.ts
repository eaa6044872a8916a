import module from 'node:module'
import path from 'node:path'

import {ensurePrivateDir} from '../fs-trust.js'
import {resolvePaths} from '../paths.js'

/**
 * Node's module compile cache (Node >= 22.1) in onramp's cache folder (`<XDG cache>/onramp/compile-cache`):
 * later runs skip most parsing and compiling of onramp and its dependencies. bin/run.js calls this
 * first, on the fast path and the oclif path alike. The folder must be private like every onramp folder
 * (fs-trust: a folder others can write could plant compiled code); when it is not, or cannot be made,
 * onramp runs without the cache and says nothing. Node's own switches win: NODE_DISABLE_COMPILE_CACHE=1
 * turns it off, NODE_COMPILE_CACHE=<dir> has already enabled it elsewhere.
 * Returns the folder in use, or undefined.
 */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const enable = (module as {enableCompileCache?: (dir: string) => {status: number; directory?: string}}).enableCompileCache
  if (!enable || env.NODE_DISABLE_COMPILE_CACHE || env.NODE_COMPILE_CACHE) return undefined
  try {
    const {cache} = resolvePaths(env)
    ensurePrivateDir(cache)
    const result = enable(path.join(cache, 'compile-cache'))
    return result.directory
  } catch {
    return undefined
  }
}
