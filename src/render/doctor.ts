import type {DoctorReport} from '../doctor/types.js'
import {doctorExitCode} from '../doctor/run.js'
import {serverText} from '../terminal-text.js'

const MAX_ID_WIDTH = 24
const LABEL = {ok: 'ok  ', warn: 'WARN', fail: 'FAIL'} as const

/** Human output: one line per check, its fix under it, then the verdict and the exit code. Pure. */
export function renderDoctor(report: DoctorReport): string {
  // Session ids are long (issuer#client id): they get a line of their own rather than widening every row.
  const width = Math.min(MAX_ID_WIDTH, Math.max(...report.checks.map((check) => check.id.length)))
  const indent = ' '.repeat(6 + width + 2)
  const lines: string[] = []
  for (const raw of report.checks) {
    // A summary or fix may quote a server (its error text, an email): each stays one line of the report.
    const check = {...raw, id: serverText(raw.id, 2000), summary: serverText(raw.summary, 2000), fix: raw.fix ? serverText(raw.fix, 2000) : raw.fix}
    if (check.id.length > width) lines.push(`${LABEL[check.status]}  ${check.id}`, `${indent}${check.summary}`)
    else lines.push(`${LABEL[check.status]}  ${check.id.padEnd(width)}  ${check.summary}`)
    if (check.fix) lines.push(`${indent}fix: ${check.fix}`)
  }
  const failed = report.checks.filter((check) => check.status === 'fail').length
  const warned = report.checks.filter((check) => check.status === 'warn').length
  const counts = `${failed} failed, ${warned} warning${warned === 1 ? '' : 's'}`
  lines.push(
    '',
    failed > 0
      ? `${counts}: a login or token will fail until the first failure is fixed (exit ${doctorExitCode(report)}).`
      : warned > 0
        ? `${counts}: logins and tokens should work; the warnings say what may still bite.`
        : 'Everything a login or token depends on looks right.',
  )
  return lines.join('\n') + '\n'
}
