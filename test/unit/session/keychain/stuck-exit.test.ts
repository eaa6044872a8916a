/**
 * stuck-exit.ts's count of native keychain calls past their deadline: counted from the deadline until the
 * call itself ends (resolved or rejected), across module copies (a global symbol), and nothing to do
 * for the CLI's entry when none is left. (Ending the process is e2e/keychain.test.ts's "over tcp" case.)
 */
import {describe, expect, it} from 'vitest'

import {withDeadlines, type SecretBackend} from '../../../../src/session/keychain/backend.js'
import {endIfKeychainStuck, stuckCall, stuckCalls} from '../../../../src/session/keychain/stuck-exit.js'

function later<T>() {
  let settle!: {resolve: (value: T) => void; reject: (error: Error) => void}
  const promise = new Promise<T>((resolve, reject) => (settle = {resolve, reject}))
  return {promise, ...settle}
}

describe('native keychain calls past their deadline', () => {
  it('are counted until they end, resolved or rejected', async () => {
    const start = stuckCalls()
    const one = later<string>()
    const two = later<string>()
    stuckCall(one.promise)
    stuckCall(two.promise.catch(() => undefined))
    expect(stuckCalls()).toBe(start + 2)
    one.resolve('late')
    await one.promise
    expect(stuckCalls()).toBe(start + 1)
    two.reject(new Error('late failure'))
    await two.promise.catch(() => undefined)
    await Promise.resolve()
    expect(stuckCalls()).toBe(start)
    await expect(endIfKeychainStuck()).resolves.toBeUndefined() // nothing stuck: the process ends as usual
  })

  it('withDeadlines hands the running call to onDeadline only when its deadline passes', async () => {
    const hanging = later<string | undefined>()
    const seen: Promise<unknown>[] = []
    const backend: SecretBackend = {name: 'Fake', get: () => hanging.promise, set: async () => undefined, delete: async () => true}
    const timed = withDeadlines(backend, {timeoutMs: 50, onDeadline: (running) => seen.push(running)})
    await expect(timed.delete('quick')).resolves.toBe(true)
    expect(seen).toHaveLength(0)
    await expect(timed.get('slow')).rejects.toThrow(/did not answer within/)
    expect(seen).toHaveLength(1)
    let ended = false
    void seen[0]!.then(() => (ended = true))
    hanging.resolve('at last')
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(ended).toBe(true) // what the count waits for is the call itself
  })
})
