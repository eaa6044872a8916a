import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {findCycles, importersOf, importGraph} from '../support/import-graph.js'

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src')

describe('the import graph of src/', () => {
  const graph = importGraph(SRC)

  it('has no cycles (type-only and lazy imports included)', () => {
    expect(graph.size).toBeGreaterThan(50)
    expect(findCycles(graph).map((cycle) => cycle.join(' -> '))).toEqual([])
  })

  it('finds a cycle when there is one (the checker itself works)', () => {
    const cyclic = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ])
    expect(findCycles(cyclic)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']])
  })

  it('keeps the layers: session/ holds stores and the lock, and never imports oauth/, provisioning/ or flows/', () => {
    const upward = [...graph]
      .filter(([file]) => file.startsWith('session/'))
      .flatMap(([file, targets]) => targets.filter((target) => /^(oauth|provisioning|flows)\//.test(target)).map((target) => `${file} -> ${target}`))
    expect(upward).toEqual([])
  })

  it('keeps provisioning/ and oauth/ below the flows', () => {
    const upward = [...graph]
      .filter(([file]) => /^(oauth|provisioning|scopes)\//.test(file))
      .flatMap(([file, targets]) => targets.filter((target) => /^(flows|commands|cli|fast)\//.test(target)).map((target) => `${file} -> ${target}`))
    expect(upward).toEqual([])
  })

  it('keeps libraries behind their one door (DEVELOPERS.md): openid-client in oauth/ only, @inquirer/prompts in ui.ts, open in browser.ts', () => {
    expect(importersOf(SRC, 'openid-client').filter((file) => !file.startsWith('oauth/'))).toEqual([])
    expect(importersOf(SRC, 'openid-client')).toContain('oauth/client.ts')
    expect(importersOf(SRC, '@inquirer/prompts')).toEqual(['ui.ts'])
    expect(importersOf(SRC, 'open')).toEqual(['browser.ts'])
  })
})
