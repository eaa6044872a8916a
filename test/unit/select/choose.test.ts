import {describe, expect, it} from 'vitest'

import {choose, type Candidate, type ChooseInput} from '../../../src/select/choose.js'
import type {OnrampFile} from '../../../src/select/onramp-file.js'

const US = 'https://us.posthog.com'
const EU = 'https://eu.posthog.com'
const HOST = 'https://posthog.example.com'
const US_CLIENT = 'c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM'

const session = (issuer: string, email: string | null, kind: 'oauth' | 'provisioning' = 'oauth', obtained = '2026-01-01T00:00:00.000Z'): Candidate => ({
  issuer,
  client_id: US_CLIENT,
  kind,
  user: email ? {email} : null,
  obtained_at: obtained,
})

const input = (overrides: Partial<ChooseInput<Candidate>> = {}): ChooseInput<Candidate> => ({
  flags: {},
  env: {},
  file: undefined,
  defaults: {server: null, accounts: {}},
  defaultsPath: '/cfg/defaults.json',
  sessions: [],
  ...overrides,
})

const file = (fields: Omit<OnrampFile, 'path'>): OnrampFile => ({path: '/work/app/.onramp.json', ...fields})

describe('choose: the server', () => {
  it('flags > environment > .onramp.json > the switch default > the only server > the default region', () => {
    const sessions = [session(EU, 'dev@example.com')]
    const all = {flags: {region: 'us'}, env: {ONRAMP_HOST: HOST}, file: file({region: 'eu'}), defaults: {server: HOST, accounts: {}}, sessions}
    expect(choose(input(all)).sources.server).toEqual({level: 'flag', name: '--region'})
    expect(choose(input({...all, flags: {}})).server.issuer).toBe(HOST)
    expect(choose(input({...all, flags: {}})).sources.server).toEqual({level: 'env', name: 'ONRAMP_HOST'})
    expect(choose(input({...all, flags: {}, env: {}})).sources.server).toEqual({level: 'file', name: '/work/app/.onramp.json'})
    expect(choose(input({...all, flags: {}, env: {}, file: undefined})).sources.server.level).toBe('switch')
    expect(choose(input({sessions})).server.issuer).toBe(EU) // the only server: not the default region
    expect(choose(input({sessions})).sources.server.level).toBe('only')
    expect(choose(input({sessions: [...sessions, session(HOST, 'dev@example.com')]})).server.issuer).toBe(US)
    expect(choose(input()).sources.server.level).toBe('default')
  })

  it('a typed --region wins over ONRAMP_HOST (a flag is a level above any variable)', () => {
    expect(choose(input({flags: {region: 'eu'}, env: {ONRAMP_HOST: HOST}})).server.issuer).toBe(EU)
    expect(choose(input({env: {ONRAMP_HOST: HOST, ONRAMP_REGION: 'eu'}})).server.issuer).toBe(HOST) // one level: host wins
  })

  it('a bad ONRAMP_REGION is named as the variable; a bad host from a file names the file', () => {
    expect(() => choose(input({env: {ONRAMP_REGION: 'xx'}}))).toThrow(/ONRAMP_REGION=xx is not one of us, eu/)
    expect(() => choose(input({flags: {region: 'us'}, env: {ONRAMP_REGION: 'xx'}}))).not.toThrow()
    expect(() => choose(input({env: {ONRAMP_HOST: 'http://example.com'}}))).toThrow(/from ONRAMP_HOST/)
  })

  it('an account named alone picks the server it has a session on', () => {
    const sessions = [session(US, 'dev@example.com'), session(EU, 'ci@example.com')]
    expect(choose(input({flags: {account: 'ci@example.com'}, sessions})).server.issuer).toBe(EU)
    expect(choose(input({flags: {account: 'CI@example.com'}, sessions})).session?.issuer).toBe(EU)
  })
})

describe('choose: the account', () => {
  const dev = session(US, 'dev@example.com')
  const devSignup = session(US, 'dev@example.com', 'provisioning')
  const ci = session(US, 'ci@example.com', 'oauth', '2026-02-01T00:00:00.000Z')
  const newbie = session(US, 'newbie@example.com', 'provisioning')

  it('the only account is chosen; two without a choice are ambiguous (never the newest silently)', () => {
    expect(choose(input({sessions: [dev]}))).toMatchObject({account: 'dev@example.com', session: dev, ambiguous: []})
    const two = choose(input({sessions: [dev, ci]}))
    expect(two).toMatchObject({account: null, session: undefined, ambiguous: ['dev@example.com', 'ci@example.com']})
  })

  it('flags > ONRAMP_ACCOUNT > .onramp.json > the default, each saying what chose', () => {
    const sessions = [dev, ci]
    const levels = {flags: {account: 'dev@example.com'}, env: {ONRAMP_ACCOUNT: 'ci@example.com'}, file: file({account: 'dev@example.com'}), defaults: {server: null, accounts: {[US]: 'ci@example.com'}}, sessions}
    expect(choose(input(levels))).toMatchObject({account: 'dev@example.com', sources: {account: {level: 'flag', name: '--account'}}})
    expect(choose(input({...levels, flags: {}}))).toMatchObject({account: 'ci@example.com', session: ci, sources: {account: {level: 'env', name: 'ONRAMP_ACCOUNT'}}})
    expect(choose(input({...levels, flags: {}, env: {}}))).toMatchObject({account: 'dev@example.com', session: dev, sources: {account: {level: 'file'}}})
    expect(choose(input({...levels, flags: {}, env: {}, file: undefined}))).toMatchObject({account: 'ci@example.com', sources: {account: {level: 'switch'}}})
  })

  it('each command takes the kind it needs: projects the signup session, token the login session, of the chosen account', () => {
    const sessions = [dev, devSignup]
    expect(choose(input({sessions, prefer: 'provisioning'})).session).toBe(devSignup)
    expect(choose(input({sessions, prefer: 'oauth'})).session).toBe(dev)
  })

  it('login (dev) and signup (newbie) on one server: token uses dev, projects newbie, without a choice', () => {
    const sessions = [dev, newbie]
    expect(choose(input({sessions, prefer: 'oauth'})).session).toBe(dev)
    expect(choose(input({sessions, prefer: 'provisioning'})).session).toBe(newbie)
    // The default wins where it has the kind; projects still finds the only signup session.
    const defaults = {server: null, accounts: {[US]: 'dev@example.com'}}
    expect(choose(input({sessions, defaults, prefer: 'provisioning'})).session).toBe(newbie)
    expect(choose(input({sessions, defaults, prefer: 'oauth'})).session).toBe(dev)
  })

  it('an account named explicitly that has no session is not replaced by another', () => {
    const choice = choose(input({flags: {account: 'nobody@example.com'}, sessions: [dev]}))
    expect(choice).toMatchObject({account: 'nobody@example.com', session: undefined})
  })
})
