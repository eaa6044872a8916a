import {readFileSync} from 'node:fs'

export type Keyring = typeof import('@napi-rs/keyring')

/**
 * `@napi-rs/keyring`, loaded on first use. On glibc Linux (x64, arm64) straight from the platform
 * package the package's own loader would pick: that loader first tries a file beside itself that npm
 * never installs (a failed require and its error) and reads two package.json files, a third of the
 * addon's load time in `onramp token`. Anywhere else, or when that package cannot be loaded or lacks
 * what onramp calls, the package's own loader (which also honours NAPI_RS_NATIVE_LIBRARY_PATH).
 */
export async function loadKeyring(): Promise<Keyring> {
  const direct = platformPackage(process.env)
  if (direct) {
    try {
      // A name esbuild cannot see: the hot bundle keeps the addon outside, loaded here on use only. node:module
      // too loads only here (a millisecond of the keychain `token`, which the plain read answers without the addon).
      const binding = process.getBuiltinModule('node:module').createRequire(import.meta.url)(direct) as Partial<Keyring>
      if (binding.AsyncEntry && binding.findCredentialsAsync) return binding as Keyring
    } catch {
      // not installed beside onramp (pnpm, a musl system...): the package's own loader below
    }
  }
  return import('@napi-rs/keyring')
}

/** The platform package of a glibc Linux on x64 or arm64; undefined elsewhere (the loader decides). */
export function platformPackage(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform, arch: string = process.arch): string | undefined {
  if (platform !== 'linux' || (arch !== 'x64' && arch !== 'arm64') || env.NAPI_RS_NATIVE_LIBRARY_PATH) return undefined
  return isGlibc() ? `@napi-rs/keyring-linux-${arch}-gnu` : undefined
}

/** The loader's own first test: /usr/bin/ldd names musl on musl systems. Unreadable: not known, so no. */
function isGlibc(): boolean {
  try {
    return !readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {
    return false
  }
}
