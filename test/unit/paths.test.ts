import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {resolvePaths} from '../../src/paths.js'

describe('resolvePaths', () => {
  it('uses absolute XDG_* variables', () => {
    const env = {
      HOME: '/home/ada',
      XDG_CONFIG_HOME: '/x/config',
      XDG_CACHE_HOME: '/x/cache',
      XDG_STATE_HOME: '/x/state',
      XDG_DATA_HOME: '/x/data',
    }
    expect(resolvePaths(env, '/ignored', 'linux')).toEqual({
      config: path.join('/x/config', 'onramp'),
      cache: path.join('/x/cache', 'onramp'),
      state: path.join('/x/state', 'onramp'),
    })
  })

  it('falls back to the XDG defaults under $HOME when unset', () => {
    expect(resolvePaths({HOME: '/home/ada'}, '/ignored', 'linux')).toEqual({
      config: path.join('/home/ada', '.config', 'onramp'),
      cache: path.join('/home/ada', '.cache', 'onramp'),
      state: path.join('/home/ada', '.local', 'state', 'onramp'),
    })
  })

  it('ignores relative XDG_* values and empty ones, as the XDG spec requires', () => {
    const paths = resolvePaths({HOME: '/home/ada', XDG_CONFIG_HOME: 'relative/config', XDG_STATE_HOME: ''}, '/ignored', 'linux')
    expect(paths.config).toBe(path.join('/home/ada', '.config', 'onramp'))
    expect(paths.state).toBe(path.join('/home/ada', '.local', 'state', 'onramp'))
  })

  it('uses the home argument when HOME is not set', () => {
    expect(resolvePaths({}, '/users/grace', 'linux').config).toBe(path.join('/users/grace', '.config', 'onramp'))
  })

  it('uses the same layout on macOS and Windows', () => {
    const linux = resolvePaths({HOME: '/home/ada'}, '/ignored', 'linux')
    expect(resolvePaths({HOME: '/home/ada'}, '/ignored', 'darwin')).toEqual(linux)
    expect(resolvePaths({HOME: '/home/ada'}, '/ignored', 'win32')).toEqual(linux)
  })
})
