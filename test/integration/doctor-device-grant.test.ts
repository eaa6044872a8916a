import {describe, expect, it} from 'vitest'

import {runDoctor} from '../../src/doctor/run.js'
import {findCheck} from '../support/doctor.js'
import {harnessPerTest, US_ISSUER} from '../support/harness.js'

const {start} = harnessPerTest()

describe('onramp doctor: whether the server advertises the device grant (login.device_grant)', () => {
  it('says so when the metadata has a device_authorization_endpoint', async () => {
    const h = await start({deviceGrant: true})
    const report = await runDoctor(h.deps, {selection: {}})
    expect(findCheck(report, 'login.device_grant')).toMatchObject({status: 'ok', fix: null, summary: expect.stringMatching(new RegExp(`^${US_ISSUER} advertises the device grant.*onramp login --device`))})
  })

  it('says it does not (PostHog today), pointing at the pasted redirect; not a problem', async () => {
    const h = await start()
    const report = await runDoctor(h.deps, {selection: {}})
    expect(findCheck(report, 'login.device_grant')).toMatchObject({status: 'ok', summary: expect.stringMatching(/does not advertise the device grant.*--no-browser/)})
    expect(report.checks.filter((check) => check.status === 'fail').map((check) => check.id)).not.toContain('login.device_grant')
  })
})
