import {OnrampCommand} from '../../cli/base-command.js'
import {projectIdArgs, projectKeyFlags, projectTarget, selectionFlags} from '../../cli/flags.js'
import type {ProjectShowResult} from '../../flows/projects.js'

export default class ProjectsShow extends OnrampCommand {
  static override summary = 'Show a project and its current API key.'
  static override description = 'ID is the project id that onramp projects create printed (POSTHOG_PROJECT_ID); --id ID names it by the id it was created with instead. Uses the provisioning session from onramp signup (or ONRAMP_TOKEN).'
  static override examples = ['<%= config.bin %> projects show 12345', '<%= config.bin %> projects show --id ci-1', '<%= config.bin %> projects show "$POSTHOG_PROJECT_ID" --json']
  static override args = projectIdArgs
  static override flags = projectKeyFlags

  async run(): Promise<ProjectShowResult> {
    const {args, flags} = await this.parse(ProjectsShow)
    const [{showProjectFlow}, {renderProjectShow}] = await Promise.all([import('../../flows/projects.js'), import('../../render/projects.js')])
    const result = await showProjectFlow(await this.deps(flags), {...selectionFlags(flags), ...projectTarget(args, flags), outputEnv: flags['output-env']})
    return this.output(result, renderProjectShow)
  }
}
