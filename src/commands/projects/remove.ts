import {Flags} from '@oclif/core'

import {OnrampCommand} from '../../cli/base-command.js'
import {createIdFlag, projectIdArgs, projectTarget, selectionFlags, sessionFlags} from '../../cli/flags.js'
import type {ProjectRemoveResult} from '../../flows/projects.js'

export default class ProjectsRemove extends OnrampCommand {
  static override summary = 'Remove a project (asks first on a terminal; --yes elsewhere).'
  static override description =
    'ID is the project id that onramp projects create printed (POSTHOG_PROJECT_ID); --id ID names it by the id it was created with instead. Without a terminal (CI, a pipe) it removes nothing unless --yes is given (exit 2). ' +
    'The --id the project was created with is freed: creating it again makes a new project.'
  static override examples = ['<%= config.bin %> projects remove 12345', '<%= config.bin %> projects remove "$POSTHOG_PROJECT_ID" --yes']
  static override args = projectIdArgs
  static override flags = {
    ...sessionFlags,
    ...createIdFlag,
    yes: Flags.boolean({char: 'y', description: 'Remove without asking (required when there is no terminal).', default: false}),
  }

  async run(): Promise<ProjectRemoveResult> {
    const {args, flags} = await this.parse(ProjectsRemove)
    const [{removeProjectFlow}, {renderProjectRemove}] = await Promise.all([import('../../flows/projects.js'), import('../../render/projects.js')])
    const result = await removeProjectFlow(await this.deps(flags), {...selectionFlags(flags), ...projectTarget(args, flags), yes: flags.yes})
    return this.output(result, renderProjectRemove)
  }
}
