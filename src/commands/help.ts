import {Args, loadHelpClass, toConfiguredId, toStandardizedId} from '@oclif/core'

import {OnrampCommand} from '../cli/base-command.js'
import {unknownCommandError} from '../hooks/command-not-found.js'

export interface HelpCommands {
  commands: {id: string; summary: string | null; flags: string[]}[]
}

/**
 * `onramp help [COMMAND]`: oclif's own help text, like `--help`. Not @oclif/plugin-help: as a plugin it
 * is read at every start-up, exits 1 on `--json` and suggests nothing for a misspelt COMMAND.
 */
export default class Help extends OnrampCommand {
  static override summary = 'Show help for onramp or for one command.'
  static override description = 'With --json, lists the commands (or the one asked for) with their summaries and flags.'
  static override examples = ['<%= config.bin %> help', '<%= config.bin %> help token']
  static override strict = false
  static override args = {command: Args.string({description: 'Command to show help for.', required: false})}

  async run(): Promise<HelpCommands | undefined> {
    const {argv} = await this.parse(Help)
    const words = (argv as string[]).filter((word) => !word.startsWith('-'))
    const id = toStandardizedId(words.join(' '), this.config)
    if (words.length > 0 && !this.config.findCommand(id) && !this.config.findTopic(id)) {
      throw unknownCommandError({config: this.config, words: [id], via: 'help'})
    }
    if (this.jsonEnabled()) return this.listCommands(id)
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, this.config.pjson.oclif.helpOptions).showHelp(words)
    return undefined
  }

  private listCommands(id: string): HelpCommands {
    const matching = this.config.commands
      .filter((command) => !command.hidden && (id === '' || command.id === id || command.id.startsWith(`${id}:`)))
      .sort((a, b) => a.id.localeCompare(b.id))
    return {
      commands: matching.map((command) => ({
        id: toConfiguredId(command.id, this.config),
        summary: command.summary ?? command.description?.split('\n')[0] ?? null,
        flags: Object.keys(command.flags).map((name) => `--${name}`).sort(),
      })),
    }
  }
}
