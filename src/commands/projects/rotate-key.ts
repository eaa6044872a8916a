import {OnrampCommand} from '../../cli/base-command.js'
import {projectIdArgs, projectKeyFlags, projectTarget, selectionFlags} from '../../cli/flags.js'
import type {ProjectRotateResult} from '../../flows/projects.js'

export default class ProjectsRotateKey extends OnrampCommand {
  static override summary = "Replace a project's API key (e.g. after a leak): the old key stops working."
  static override description = 'ID is the project id that onramp projects create printed (POSTHOG_PROJECT_ID); --id ID names it by the id it was created with instead. Uses the provisioning session from onramp signup (or ONRAMP_TOKEN).'
  static override examples = ['<%= config.bin %> projects rotate-key 12345', '<%= config.bin %> projects rotate-key "$POSTHOG_PROJECT_ID" --output-env "$GITHUB_ENV"']
  static override args = projectIdArgs
  static override flags = projectKeyFlags

  async run(): Promise<ProjectRotateResult> {
    const {args, flags} = await this.parse(ProjectsRotateKey)
    const [{rotateProjectKeyFlow}, {renderProjectRotate}] = await Promise.all([import('../../flows/projects.js'), import('../../render/projects.js')])
    const result = await rotateProjectKeyFlow(await this.deps(flags), {...selectionFlags(flags), ...projectTarget(args, flags), outputEnv: flags['output-env']})
    return this.output(result, renderProjectRotate)
  }
}
