import fs from 'node:fs'
import path from 'node:path'

/**
 * The import graph of a source tree: every relative `import`/`export ... from`, type-only and dynamic
 * `import()` included (a cycle through a lazy import is still two modules that need each other).
 */
export function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  const files = fs.readdirSync(root, {recursive: true, encoding: 'utf8'}).filter((file) => file.endsWith('.ts'))
  for (const file of files) {
    const from = path.join(root, file)
    const text = fs.readFileSync(from, 'utf8')
    const targets = new Set<string>()
    for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = path.resolve(path.dirname(from), match[1]!).replace(/\.js$/, '.ts')
      targets.add(path.relative(root, target))
    }
    graph.set(file, [...targets].filter((target) => graph.has(target) || fs.existsSync(path.join(root, target))))
  }
  return graph
}

/** Every elementary cycle found by a depth-first walk, each as the list of files around it. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = []
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (node: string) => {
    state.set(node, 'open')
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next])
      else if (!state.has(next)) visit(next)
    }
    stack.pop()
    state.set(node, 'done')
  }
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node)
  return cycles
}

/** The files under `root` that import the package `name` (static, type-only or lazy), relative to root. */
export function importersOf(root: string, name: string): string[] {
  const files = fs.readdirSync(root, {recursive: true, encoding: 'utf8'}).filter((file) => file.endsWith('.ts'))
  const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  const pattern = new RegExp(`(?:\\bfrom\\s*|\\bimport\\s*\\(\\s*|\\bimport\\s+)['"]${escaped}(?:/[^'"]*)?['"]`)
  return files.filter((file) => pattern.test(fs.readFileSync(path.join(root, file), 'utf8'))).sort()
}
