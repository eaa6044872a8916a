import {type Hook, type Interfaces, toConfiguredId} from '@oclif/core'
import {distance} from 'fastest-levenshtein'

import {writeErrorDocument} from '../render/error.js'
import {ExitCode, UsageError} from '../errors.js'

/**
 * oclif's `command_not_found` hook: a misspelt or unknown command exits 2 with the closest command as
 * the next step (one JSON error document under --json), like gh's "Did you mean this?". It never runs
 * the suggestion: a typo must not log anyone out, so retyping stays the user's call.
 */
const hook: Hook<'command_not_found'> = async function (options) {
  const words = [options.id, ...(options.argv ?? [])]
  writeErrorDocument(unknownCommandError({config: options.config, words}), {json: wantsJson(words)})
  this.exit(ExitCode.usage)
}

export default hook

/** `--json` anywhere before `--`, as oclif's JSON flag reads it. */
export function wantsJson(words: readonly string[]): boolean {
  const end = words.indexOf('--')
  return (end === -1 ? words : words.slice(0, end)).includes('--json')
}

/**
 * The usage error for what was typed in place of a command. `words` starts with what oclif took as
 * the command id (`tokn`, `projects:creat`, or a flag such as `--json` when flags came first);
 * `via` is the command that was asked about it (`help` for `onramp help tokn`).
 */
export function unknownCommandError({config, words, via}: {config: Interfaces.Config; words: readonly string[]; via?: string}): UsageError {
  const bin = via ? `${config.bin} ${via}` : config.bin
  // What other CLIs call the version command: onramp answers it as a flag.
  if (!via && ['version', '-v', '-V'].includes(words[0] ?? '')) {
    const next = `${config.bin} --version`
    return new UsageError(`${config.bin} has no command \`${words[0]}\`: the version is \`${next}\`.`, {code: 'command_not_found', nextCommand: next})
  }
  if (words[0]?.startsWith('-')) return flagsFirstError({config, words})
  const typed = toConfiguredId(words[0] ?? '', config)
  const suggestion = closestCommand({config, typed: words[0] ?? ''})
  if (suggestion) {
    const next = `${bin} ${toConfiguredId(suggestion, config)}`
    return new UsageError(`${config.bin} has no command \`${typed}\`. Did you mean \`${next}\`?`, {code: 'command_not_found', nextCommand: next})
  }
  const list = `${config.bin} help`
  return new UsageError(`${config.bin} has no command \`${typed}\`. \`${list}\` lists them.`, {code: 'command_not_found', nextCommand: list})
}

/** oclif takes the first word as the command, so `onramp --json token` looks for a command named `--json`. */
function flagsFirstError({config, words}: {config: Interfaces.Config; words: readonly string[]}): UsageError {
  const bin = config.bin
  const commandIndex = words.findIndex((word) => config.findCommand(word) !== undefined)
  if (commandIndex !== -1) {
    const rest = words.filter((_, index) => index !== commandIndex)
    const next = [bin, words[commandIndex], ...rest].join(' ')
    return new UsageError(`Flags go after the command: \`${next}\`.`, {nextCommand: next})
  }
  const typed = commandWord({config, words})
  if (typed === undefined) return new UsageError(`${bin} needs a command. \`${bin} help\` lists them.`, {nextCommand: `${bin} help`})
  return unknownCommandError({config, words: [typed]})
}

/** The first word that is neither a flag nor the value of a flag that takes one (`--region eu tokn` -> `tokn`). */
function commandWord({config, words}: {config: Interfaces.Config; words: readonly string[]}): string | undefined {
  const takesValue = new Set(
    config.commands.flatMap((command) => Object.entries(command.flags).filter(([, flag]) => flag.type === 'option').map(([name]) => `--${name}`)),
  )
  for (let index = 0; index < words.length; index++) {
    const word = words[index] ?? ''
    if (word === '--') return words[index + 1]
    if (!word.startsWith('-')) return word
    if (takesValue.has(word)) index++
  }
  return undefined
}

/**
 * The visible command closest to `typed` (an id, `:`-separated), when it is close enough to be what was
 * meant: at most two edits away (gh's rule), or `typed` starts one command's name (`stat` -> `status`).
 */
export function closestCommand({config, typed}: {config: Interfaces.Config; typed: string}): string | undefined {
  const visible = config.commands.filter((command) => !command.hidden).flatMap((command) => [command.id, ...command.aliases])
  if (typed.length === 0 || visible.length === 0) return undefined
  const ranked = visible.map((id) => ({id, edits: distance(typed, id)})).sort((a, b) => a.edits - b.edits || a.id.localeCompare(b.id))
  const best = ranked[0]
  if (best && best.edits <= 2) return best.id
  const byPrefix = visible.filter((id) => typed.length >= 2 && id.startsWith(typed))
  return byPrefix.length === 1 ? byPrefix[0] : undefined
}
