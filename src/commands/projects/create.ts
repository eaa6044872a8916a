import {Flags} from '@oclif/core'

import {OnrampCommand} from '../../cli/base-command.js'
import {outputEnvFlag, selectionFlags, sessionFlags} from '../../cli/flags.js'
import type {ProjectCreateResult} from '../../flows/projects.js'

export default class ProjectsCreate extends OnrampCommand {
  static override summary = 'Create a project for --id, or return the one that already exists (idempotent), with its API key.'
  static override description =
    'Uses the provisioning session from onramp signup (or ONRAMP_TOKEN). The same --id always returns the same project; an --id another organization already uses is refused (exit 2). ' +
    '--output-env appends POSTHOG_PROJECT_API_KEY, POSTHOG_PROJECT_ID and POSTHOG_HOST to a file (in GitHub Actions, "$GITHUB_ENV").'
  static override examples = [
    '<%= config.bin %> projects create --id preview-42 --name "Preview 42"',
    '<%= config.bin %> projects create --id "run-$GITHUB_RUN_ID" --output-env "$GITHUB_ENV"',
    '<%= config.bin %> projects create --id ci --json',
  ]
  static override flags = {
    ...sessionFlags,
    id: Flags.string({description: 'Your id for the project (e.g. the CI run): the same id returns the same project.', required: true}),
    name: Flags.string({description: 'The project name, when it is created (default "Default project").'}),
    ...outputEnvFlag,
  }

  async run(): Promise<ProjectCreateResult> {
    const {flags} = await this.parse(ProjectsCreate)
    const [{createProject}, {renderProjectCreate}] = await Promise.all([import('../../flows/projects.js'), import('../../render/projects.js')])
    const result = await createProject(await this.deps(flags), {
      ...selectionFlags(flags),
      projectId: flags.id,
      name: flags.name,
      outputEnv: flags['output-env'],
    })
    return this.output(result, renderProjectCreate)
  }
}
