// The production install: `npm pack` (its prepack builds), then the tarball installed with
// `npm install --omit=dev` into an empty folder: what a user downloads. Sizes are apparent bytes, as
// `du -sb` counts them.
import {execFileSync} from 'node:child_process'
import {lstatSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {forget, root, tempFolder} from './support.js'

export const INSTALL_COMMANDS = ['npm pack --json --pack-destination <tmp>', 'npm install --omit=dev --no-audit --no-fund <tmp>/onramp-<version>.tgz (in an empty folder)', 'du -sb node_modules']

export function measureInstall() {
  const folder = tempFolder('onramp-bench-install-')
  try {
    const npm = (args, cwd) => execFileSync('npm', args, {cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000})
    // prepack's build prints to the same stdout before npm's JSON array.
    const packed = npm(['pack', '--json', '--pack-destination', folder], root)
    const tarball = JSON.parse(packed.slice(packed.search(/^\[/m)))[0].filename
    const app = path.join(folder, 'app')
    mkdirSync(app)
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({name: 'onramp-install-probe', version: '0.0.0', private: true}))
    const output = npm(['install', '--omit=dev', '--no-audit', '--no-fund', path.join(folder, tarball)], app)
    const added = /added (\d+) packages?/.exec(output)?.[1]
    const modules = path.join(app, 'node_modules')
    const total = Number(execFileSync('du', ['-sb', modules], {encoding: 'utf8'}).split(/\s/)[0])
    const packages = listPackages(modules)
    const weights = packages.map((dir) => ({name: path.relative(modules, dir).replaceAll(`node_modules${path.sep}`, ''), bytes: apparentSize(dir, packages)}))
    weights.sort((a, b) => b.bytes - a.bytes)
    return {total, count: packages.length, added: added === undefined ? undefined : Number(added), weights, tarball}
  } catch (error) {
    return {skipped: `${error instanceof Error ? error.message.split('\n')[0] : String(error)}`}
  } finally {
    forget(folder)
  }
}

/** Every installed package folder (nested ones too), onramp itself included. */
function listPackages(modules) {
  const found = []
  let entries
  try {
    entries = readdirSync(modules, {withFileTypes: true})
  } catch {
    return found // no nested node_modules
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue
    const dirs = entry.name.startsWith('@')
      ? readdirSync(path.join(modules, entry.name), {withFileTypes: true}).filter((inner) => inner.isDirectory()).map((inner) => path.join(modules, entry.name, inner.name))
      : [path.join(modules, entry.name)]
    for (const dir of dirs) found.push(dir, ...listPackages(path.join(dir, 'node_modules')))
  }
  return found
}

/** Apparent bytes under dir (as `du -sb`), skipping nested package folders (counted on their own). */
function apparentSize(dir, packages) {
  const skip = new Set(packages.filter((other) => other !== dir))
  let bytes = lstatSync(dir).size
  const walk = (current) => {
    for (const entry of readdirSync(current, {withFileTypes: true})) {
      const full = path.join(current, entry.name)
      if (skip.has(full)) continue
      bytes += lstatSync(full).size
      if (entry.isDirectory()) walk(full)
    }
  }
  walk(dir)
  return bytes
}

export function renderInstall(install) {
  if (install.skipped) return `Not measured in this run: ${install.skipped}. Target: <= 12 MB (was 14 MB / 78 packages).`
  const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`
  const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`
  const met = install.total <= 12e6 ? 'met' : 'NOT met'
  const top = install.weights.slice(0, 12).map(({name, bytes}) => `| ${name} | ${mib(bytes)} |`)
  return `\`npm pack\` (${install.tarball}), installed with \`npm install --omit=dev\` into an empty folder:
**${mib(install.total)}** (${mb(install.total)}) in node_modules (\`du -sb\`), **${install.count} packages** (package folders, onramp
itself included${install.added === undefined ? '' : `; npm said "added ${install.added} packages"`}). Target: <= 12 MB (${met}); was 14 MB / 78 packages.

Heaviest packages (own files; nested packages counted on their own):

| package | size |
|---|---|
${top.join('\n')}`
}
