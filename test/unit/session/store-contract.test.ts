/**
 * The SessionStore contract, run against every store (architecture.md "Stores are plug-ins"): the file,
 * the keychain (a fake backend in-process; the real Secret Service in test/e2e/keychain.test.ts) and Redis
 * (a real redis-server). Save, load, list without tokens, compare-and-replace, delete, and a storm of
 * concurrent compare-and-replaces from separate store instances, as separate processes would make.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, expect, it} from 'vitest'

import {resolvePaths} from '../../../src/paths.js'
import {openSessionStore} from '../../../src/session/open-store.js'
import {newStoreKey} from '../../../src/session/seal.js'
import type {Session} from '../../../src/session/session.js'
import type {SessionStore} from '../../../src/session/store.js'
import {fakeBackend} from '../../support/keyring.js'
import {redisServerUnavailable, startRedisServer, type RedisServer} from '../../support/redis-server.js'
import {describeUnless} from '../../support/skip.js'

const noRedis = redisServerUnavailable()
let redis: RedisServer | undefined
const cleanups: (() => Promise<void> | void)[] = []

beforeAll(async () => {
  if (!noRedis) redis = await startRedisServer()
})
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await redis?.destroy()
})

/** A factory of store instances sharing one backing store (one per "process"). */
interface Backing {
  name: string
  skip: string | false
  make(): () => Promise<SessionStore>
}

let namespaces = 0
const BACKINGS: Backing[] = [
  {
    name: 'file',
    skip: false,
    make() {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-contract-'))
      cleanups.push(() => fs.rmSync(home, {recursive: true, force: true}))
      return () => openSessionStore({env: {ONRAMP_STORAGE: 'file'}, paths: resolvePaths({HOME: home}), warn: () => undefined})
    },
  },
  {
    name: 'keychain (fake backend)',
    skip: false,
    make() {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-contract-'))
      cleanups.push(() => fs.rmSync(home, {recursive: true, force: true}))
      const backend = fakeBackend()
      return () => openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths: resolvePaths({HOME: home}), warn: () => undefined, backend})
    },
  },
  {
    name: 'redis (a real redis-server)',
    skip: noRedis,
    make() {
      const env = {ONRAMP_STORAGE: 'redis', ONRAMP_REDIS_URL: redis!.url, ONRAMP_STORE_KEY: newStoreKey(), ONRAMP_REDIS_PREFIX: `contract${++namespaces}:`}
      return async () => {
        const store = await openSessionStore({env, paths: resolvePaths({HOME: os.tmpdir()}), warn: () => undefined})
        cleanups.push(() => (store as SessionStore & {close?: () => Promise<void>}).close?.())
        return store
      }
    },
  },
]

function session(overrides: Partial<Session> = {}): Session {
  return {
    issuer: 'https://us.posthog.com',
    client_id: 'contract-client',
    region: 'us',
    access_token: 'pha_contract_access_0',
    refresh_token: 'phr_contract_refresh_0',
    expires_at: '2030-01-01T00:00:00.000Z',
    scope: ['user:read'],
    user: {email: 'contract@example.com'},
    obtained_at: '2026-01-01T00:00:00.000Z',
    kind: 'provisioning',
    ...overrides,
  }
}

for (const backing of BACKINGS) {
  describeUnless(backing.skip)(`SessionStore contract: ${backing.name}`, () => {
    it('saves a session, reads it back whole from another instance, lists it without tokens, deletes it', async () => {
      const open = backing.make()
      const [a, b] = [await open(), await open()]
      expect(await a.get(session())).toBeUndefined()
      await a.save(session())
      expect(await b.get(session())).toEqual(session())
      const listed = await b.list()
      expect(listed).toHaveLength(1)
      expect(listed[0]).not.toHaveProperty('access_token')
      expect(listed[0]).not.toHaveProperty('refresh_token')
      expect(listed[0]!.storage.kind).toBe(a.describe().kind)
      expect(await b.delete(session())).toBe(true)
      expect(await a.get(session())).toBeUndefined()
      expect(await a.delete(session())).toBe(false)
    })

    it('compare-and-replace: saved over the spent refresh token, changed after another won, missing after a logout', async () => {
      const open = backing.make()
      const store = await open()
      await store.save(session())
      const next = session({access_token: 'pha_contract_access_1', refresh_token: 'phr_contract_refresh_1'})
      expect(await store.replace!(next, {ifRefreshToken: 'phr_contract_refresh_0'})).toBe('saved')
      expect(await store.replace!(session({access_token: 'pha_late', refresh_token: 'phr_late'}), {ifRefreshToken: 'phr_contract_refresh_0'})).toBe('changed')
      expect((await store.get(session()))?.access_token).toBe('pha_contract_access_1')
      await store.delete(session())
      expect(await store.replace!(next, {ifRefreshToken: 'phr_contract_refresh_1'})).toBe('missing')
      expect(await store.get(session())).toBeUndefined()
    })

    it('a storm of compare-and-replaces from 8 instances over one spent token: exactly one wins, its pair stays', async () => {
      const open = backing.make()
      const stores = await Promise.all(Array.from({length: 8}, () => open()))
      await stores[0]!.save(session())
      const outcomes = await Promise.all(
        stores.map((store, index) => store.replace!(session({access_token: `pha_racer_${index}`, refresh_token: `phr_racer_${index}`}), {ifRefreshToken: 'phr_contract_refresh_0'})),
      )
      expect(outcomes.filter((outcome) => outcome === 'saved')).toHaveLength(1)
      expect(outcomes.filter((outcome) => outcome === 'changed')).toHaveLength(7)
      expect((await stores[3]!.get(session()))?.refresh_token).toBe(`phr_racer_${outcomes.indexOf('saved')}`)
    })
  })
}
