import {readFileSync} from 'node:fs'

import {Ajv2020} from 'ajv/dist/2020.js'
import {describe, expect, it} from 'vitest'

import {renderDoctor} from '../../../src/render/doctor.js'
import {doctorExitCode, doctorJson} from '../../../src/doctor/run.js'
import {fail, ok, warn, type CheckResult, type DoctorReport} from '../../../src/doctor/types.js'

const schema = JSON.parse(readFileSync(new URL('../../../schemas/doctor.schema.json', import.meta.url), 'utf8')) as object
const validate = new Ajv2020({allErrors: true, strict: true}).compile(schema)

function report(...checks: CheckResult[]): DoctorReport {
  return {checks, ok: checks.every((check) => check.status !== 'fail')}
}

describe('doctor exit codes: the first failed check decides', () => {
  it('0 when only warnings', () => {
    expect(doctorExitCode(report(ok('runtime', 'runtime.node', 'x'), warn('login', 'login.browser', 'y', 'z')))).toBe(0)
  })

  it.each([
    ['scope', 4],
    ['session', 5],
    ['network', 6],
    ['storage', 7],
    ['runtime', 1],
    ['login', 1],
  ] as const)('a failed %s check exits %d', (kind, code) => {
    expect(doctorExitCode(report(ok('runtime', 'runtime.node', 'x'), fail(kind, 'some.check', 'broken', 'fix it')))).toBe(code)
  })

  it('two failures: the earlier one wins', () => {
    expect(doctorExitCode(report(fail('network', 'server.proxy', 'a', 'b'), fail('storage', 'storage.backend', 'c', 'd')))).toBe(6)
    expect(doctorExitCode(report(fail('storage', 'storage.backend', 'c', 'd'), fail('network', 'server.proxy', 'a', 'b')))).toBe(7)
  })
})

describe('doctor --json', () => {
  it('keeps id, status, summary and fix (null when ok), and matches the schema', () => {
    const json = doctorJson(report(ok('runtime', 'runtime.node', 'Node 22'), fail('scope', 'scopes.signup', 'refused', "ask the server's admins")))
    expect(json).toEqual({
      checks: [
        {id: 'runtime.node', status: 'ok', summary: 'Node 22', fix: null},
        {id: 'scopes.signup', status: 'fail', summary: 'refused', fix: "ask the server's admins"},
      ],
      ok: false,
    })
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true)
  })

  it('the schema refuses a fix on an ok check, a missing fix on a failed one, and unknown fields', () => {
    expect(validate({checks: [{id: 'a.b', status: 'ok', summary: 's', fix: 'x'}], ok: true})).toBe(false)
    expect(validate({checks: [{id: 'a.b', status: 'fail', summary: 's', fix: null}], ok: false})).toBe(false)
    expect(validate({checks: [{id: 'a.b', status: 'ok', summary: 's', fix: null, kind: 'runtime'}], ok: true})).toBe(false)
  })
})

describe('doctor human output', () => {
  it('one line per check, the fix under anything not ok, the verdict with the exit code', () => {
    const text = renderDoctor(report(ok('runtime', 'runtime.node', 'Node 22 satisfies >=20.18.1'), fail('network', 'server.proxy', 'HTTPS_PROXY is unreachable', 'unset HTTPS_PROXY')))
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^ok\s+runtime\.node\s+Node 22 satisfies >=20\.18\.1$/)
    expect(lines[1]).toMatch(/^FAIL\s+server\.proxy\s+HTTPS_PROXY is unreachable$/)
    expect(lines[2]).toMatch(/^\s+fix: unset HTTPS_PROXY$/)
    expect(lines.at(-1)).toMatch(/1 failed, 0 warnings: .*\(exit 6\)\.$/)
  })

  it('a long session id gets its own line instead of widening every row', () => {
    const id = 'sessions.https://us.posthog.com#c4Rdw8DIxgtQfA80IiSnGKlNX8QN00cFWF00QQhM'
    const lines = renderDoctor(report(ok('runtime', 'runtime.node', 'Node 22'), ok('session', id, 'accepted'))).split('\n')
    expect(lines[0]).toMatch(/^ok\s{4}runtime\.node\s{2,}Node 22$/)
    expect(lines[0]!.length).toBeLessThan(50)
    expect(lines[1]).toBe(`ok    ${id}`)
    expect(lines[2]).toMatch(/^\s+accepted$/)
  })
})
