import {fail, ok, warn, type Check} from '../types.js'

/** runtime.node: this Node against package.json `engines.node`. */
export const checkRuntime: Check = async (ctx) => {
  const id = 'runtime.node'
  if (!ctx.engines) return [ok('runtime', id, `Node ${ctx.nodeVersion} (package.json names no engines.node)`)]
  const verdict = satisfies(ctx.nodeVersion, ctx.engines)
  if (verdict === undefined) {
    return [warn('runtime', id, `Node ${ctx.nodeVersion}; the engines range "${ctx.engines}" could not be read`, `install a current Node LTS (nvm install --lts)`)]
  }
  if (verdict) return [ok('runtime', id, `Node ${ctx.nodeVersion} satisfies ${ctx.engines}`)]
  const minimum = /(\d+\.\d+\.\d+)/.exec(ctx.engines)?.[1]
  return [
    fail(
      'runtime',
      id,
      `Node ${ctx.nodeVersion} does not satisfy ${ctx.engines}`,
      minimum ? `install Node ${minimum} or later (e.g. nvm install ${minimum.split('.')[0]} && nvm use ${minimum.split('.')[0]})` : 'install a current Node LTS (nvm install --lts)',
    ),
  ]
}

type Version = [number, number, number]

function parseVersion(text: string): Version | undefined {
  const match = /^v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?/.exec(text.trim())
  if (!match) return undefined
  const part = (value: string | undefined) => (value === undefined || value === 'x' || value === '*' ? 0 : Number(value))
  return [Number(match[1]), part(match[2]), part(match[3])]
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return 0
}

/**
 * The subset of npm's range grammar that `engines` fields use: `||` of space-separated comparators
 * (`>=`, `>`, `<=`, `<`, `=`, `^`, `~`, bare). undefined when the range cannot be read.
 */
export function satisfies(version: string, range: string): boolean | undefined {
  const current = parseVersion(version)
  if (!current) return undefined
  let anyRead = false
  for (const set of range.split('||')) {
    const comparators = set.trim().split(/\s+/).filter(Boolean)
    if (comparators.length === 0) continue
    let all = true
    for (const comparator of comparators) {
      const match = /^(>=|<=|>|<|=|\^|~)?\s*(.+)$/.exec(comparator)
      const target = match ? parseVersion(match[2]!) : undefined
      if (!match || !target) return undefined
      anyRead = true
      const order = compare(current, target)
      const op = match[1] ?? '='
      const pass =
        op === '>=' ? order >= 0
        : op === '>' ? order > 0
        : op === '<=' ? order <= 0
        : op === '<' ? order < 0
        : op === '^' ? order >= 0 && current[0] === target[0]
        : op === '~' ? order >= 0 && current[0] === target[0] && current[1] === target[1]
        : order === 0 || (current[0] === target[0] && !/\./.test(match[2]!))
      if (!pass) all = false
    }
    if (all) return true
  }
  return anyRead ? false : undefined
}
