import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {findOnrampFile} from '../../../src/select/onramp-file.js'

let root: string
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-file-'))
})
afterEach(() => fs.rmSync(root, {recursive: true, force: true}))

const write = (dir: string, content: unknown) => {
  fs.mkdirSync(dir, {recursive: true})
  const file = path.join(dir, '.onramp.json')
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content))
  return file
}

describe('.onramp.json', () => {
  it('is found in the folder or the nearest one above it', () => {
    const file = write(root, {host: 'https://posthog.example.com', client_id: 'abc', account: 'Dev@Example.com'})
    const deep = path.join(root, 'a', 'b')
    fs.mkdirSync(deep, {recursive: true})
    expect(findOnrampFile(deep)).toEqual({path: file, host: 'https://posthog.example.com', client_id: 'abc', account: 'dev@example.com'})
    const nearer = write(path.join(root, 'a'), {region: 'eu'})
    expect(findOnrampFile(deep)).toEqual({path: nearer, region: 'eu'})
  })

  it('is absent when no folder above has one', () => {
    expect(findOnrampFile(root)).toBeUndefined()
  })

  it.each([
    ['an unknown key (a token does not belong here)', {account: 'a@b.co', token: 'pha_x'}, /unknown key "token".*may hold only host, region, client_id, account/],
    ['invalid JSON', '{host:', /not valid JSON/],
    ['not an object', '[1]', /must be a JSON object/],
    ['both host and region', {host: 'https://h.example', region: 'us'}, /both "host" and "region"/],
    ['a bad region', {region: 'ap'}, /"region" is "ap"/],
    ['plain http to another machine', {host: 'http://posthog.example.com'}, /"host": Refusing plain http/],
    ['an account that is not an email', {account: 'dev'}, /"account" is "dev"/],
    ['a value that is not a string', {client_id: 42}, /"client_id" must be a non-empty string/],
  ])('refuses %s, naming the file (exit 2)', (_what, content, message) => {
    const file = write(root, content)
    let error: unknown
    try {
      findOnrampFile(root)
    } catch (caught) {
      error = caught
    }
    expect(error).toMatchObject({exit: 2, code: 'onramp_file_invalid'})
    expect((error as Error).message.startsWith(`${file}: `)).toBe(true)
    expect((error as Error).message).toMatch(message)
  })
})
