import {createServer, type Server} from 'node:net'

import {afterEach, describe, expect, it} from 'vitest'

import {runDoctor} from '../../src/doctor/run.js'
import {findCheck} from '../support/doctor.js'
import {FREE_PORT_ISSUER, FREE_PORT_SERVER, harnessPerTest, US_ISSUER} from '../support/harness.js'
import {WIZARD_PORTS, wizardPortsPerTest} from '../support/wizard-ports.js'

const {start} = harnessPerTest()
const wizardPorts = wizardPortsPerTest()
const servers: Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()))
})

/** Linux with no display and no $BROWSER: no browser can open here. */
const NO_BROWSER = {platform: 'linux', procVersion: () => 'Linux version 6.1'} as const

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

describe('onramp doctor: where no browser or loopback can work, the fix names the device grant when the server offers it', () => {
  it('no browser can open and the server offers the device grant: login.browser names onramp login --device', async () => {
    const h = await start({issuer: FREE_PORT_ISSUER, deviceGrant: true})
    const report = await runDoctor(h.deps, {selection: FREE_PORT_SERVER, ...NO_BROWSER})
    expect(findCheck(report, 'login.browser')).toMatchObject({
      status: 'warn',
      summary: expect.stringMatching(/without DISPLAY or WAYLAND_DISPLAY/),
      fix: expect.stringMatching(new RegExp(`^use onramp login --device \\(a one-time code you approve on any device; ${FREE_PORT_ISSUER} offers it\\), or onramp login --no-browser`)),
    })
  })

  it('a server without the device grant: the fix is the pasted redirect, and says --device is not offered there', async () => {
    const h = await start({issuer: FREE_PORT_ISSUER})
    const report = await runDoctor(h.deps, {selection: FREE_PORT_SERVER, ...NO_BROWSER})
    const browser = findCheck(report, 'login.browser')
    expect(browser.fix).toMatch(/^use onramp login --no-browser \(paste the redirect URL\)/)
    expect(browser.fix).toMatch(new RegExp(`--device would need the device grant, which ${FREE_PORT_ISSUER} does not offer`))
  })

  it('every registered loopback port held: login.ports fails, and its fix names onramp login --device too', async () => {
    await wizardPorts.hold()
    const h = await start({deviceGrant: true})
    for (const port of WIZARD_PORTS) {
      const server = createServer()
      // EADDRINUSE: another program holds it already, which is as good for this test.
      const bound = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false))
        server.listen({host: '127.0.0.1', port, exclusive: true}, () => resolve(true))
      })
      if (bound) servers.push(server)
    }
    const report = await runDoctor(h.deps, {selection: {}})
    expect(findCheck(report, 'login.ports')).toMatchObject({status: 'fail', fix: expect.stringMatching(/lsof .*; or use onramp login --device \(a one-time code/)})
  })
})
