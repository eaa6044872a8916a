/**
 * Issue 19 item 6: a keychain entry claiming 2,000,000,000 parts made logout and signup hang. Through
 * the keychain store (fake backend): the session is reported unreadable, and deleting or replacing it
 * finishes at once, touching at most MAX_PARTS parts.
 */
import {describe, expect, it, vi} from 'vitest'

import {MAX_PARTS} from '../../../../src/session/keychain/parts.js'
import {openSessionStore} from '../../../../src/session/open-store.js'
import {fakeBackend, KEYCHAIN_TEST_SESSION as SESSION} from '../../../support/keyring.js'
import {pathsPerTest} from '../../../support/lifecycle.js'

const paths = pathsPerTest()

describe('the keychain store with an entry claiming 2,000,000,000 parts', () => {
  it('get refuses it; delete (logout) and save (signup, login) finish without walking the claimed parts', async () => {
    const backend = fakeBackend()
    const store = await openSessionStore({env: {ONRAMP_STORAGE: 'keychain'}, paths: paths(), warn: vi.fn(), backend})
    await store.save(SESSION)
    const account = [...backend.entries.keys()].find((key) => !key.includes('#part:'))!
    backend.entries.set(account, 'onramp-parts:v1:abc123:2000000000')
    backend.calls.length = 0

    const [info] = await store.list()
    await expect(store.get(info!)).rejects.toMatchObject({code: 'keychain_entry_corrupt'})
    await store.save({...SESSION, access_token: 'pha_new_access_value'})
    expect(backend.calls.length).toBeLessThan(MAX_PARTS * 2 + 20)
    backend.entries.set(account, 'onramp-parts:v1:abc123:2000000000')
    backend.calls.length = 0
    await expect(store.delete(info!)).resolves.toBe(true)
    expect(backend.calls.length).toBeLessThan(MAX_PARTS * 2 + 20)
    expect(await store.list()).toEqual([])
  })
})
