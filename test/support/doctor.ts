import type {CheckResult, DoctorReport} from '../../src/doctor/types.js'

/** The one check with this id; a missing id fails the test naming the ids the report has. */
export function findCheck(report: DoctorReport, id: string): CheckResult {
  const found = report.checks.find((check) => check.id === id)
  if (!found) throw new Error(`no check ${id} in ${report.checks.map((check) => check.id).join(', ')}`)
  return found
}
