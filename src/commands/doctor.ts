import {Flags} from '@oclif/core'

import {OnrampCommand} from '../cli/base-command.js'
import {selectionFlags, sessionFlags} from '../cli/flags.js'
import type {DoctorJson} from '../doctor/types.js'

export default class Doctor extends OnrampCommand {
  static override summary = 'Check everything a login or token depends on, and print the fix for each problem.'
  static override description =
    'Runs ordered checks (Node, server and proxy, TLS, clock, scopes and the app ceiling, storage, locks, sessions, loopback ports, browser), each ok, warn or fail with one line of evidence and the exact fix. Exit 0 when nothing failed, else the exit code of the first failure (4 scope, 5 session, 6 network, 7 storage, 1 otherwise).'
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --region eu --json', '<%= config.bin %> doctor --refresh']

  static override flags = {
    ...sessionFlags,
    refresh: Flags.boolean({description: "Also refresh each stored session to prove its refresh token still works (spends it; it is rotated and stored).", default: false}),
  }

  async run(): Promise<DoctorJson> {
    const {flags} = await this.parse(Doctor)
    const [{runDoctor, doctorExitCode, doctorJson}, {renderDoctor}] = await Promise.all([import('../doctor/run.js'), import('../render/doctor.js')])
    const report = await runDoctor(await this.deps(flags), {
      selection: selectionFlags(flags),
      refresh: flags.refresh,
      engines: (this.config.pjson.engines as {node?: string} | undefined)?.node,
    })
    this.output(report, renderDoctor)
    process.exitCode = doctorExitCode(report)
    return doctorJson(report)
  }
}
