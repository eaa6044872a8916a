
import type {Logger} from './log.js'
import {redact} from './redact.js'
import {terminalSafe} from './terminal-text.js'

/** Where text goes. Results go to stdout; progress, prompts and warnings to stderr. */
export interface Writer {
  write(chunk: string): unknown
}

/**
 * The one way flows talk to a person (flows tell the story; they neither print nor prompt): they never write to a stream or
 * prompt directly. The terminal implementation is below; tests pass a fake or a terminal over buffers.
 */
export interface Ui {
  /** Progress and instructions (stderr, so stdout stays one result). */
  info(message: string): void
  /** `Warning: ...` on stderr, and logged as a `warning` event. */
  warn(message: string): void
  /** True when a person can answer prompts: stdin and stderr are terminals, CI is unset, --non-interactive was not given. */
  readonly interactive: boolean
  /** A free-text question; `validate` returns an error text to ask again, or true. */
  prompt(message: string, options?: {validate?: (value: string) => string | true; default?: string}): Promise<string>
  confirm(message: string, options?: {default?: boolean}): Promise<boolean>
  /** Calls `onLine` for each line typed or pasted on stdin until the returned function is called. */
  /** Calls `onLine` per line of stdin until the returned stop is called; `onEnd` when stdin ends first. */
  readLines(onLine: (line: string) => void, onEnd?: () => void): () => void
}

type Stdin = NodeJS.ReadableStream & {isTTY?: boolean}

export interface TerminalUiOptions {
  /** Resolved on first use: touching process.stdin loads tty and net, which `onramp token` never needs. */
  stdin: Stdin | (() => Stdin)
  stderr: Writer & {isTTY?: boolean}
  logger: Logger
  env: NodeJS.ProcessEnv
  /** --non-interactive (or a command that never asks). */
  nonInteractive?: boolean
}

export function createTerminalUi({stdin: stdinOption, stderr, logger, env, nonInteractive = false}: TerminalUiOptions): Ui {
  let resolved: Stdin | undefined
  const stdin = (): Stdin => (resolved ??= typeof stdinOption === 'function' ? stdinOption() : stdinOption)
  const context = () => ({input: stdin(), output: stderr as NodeJS.WritableStream, clearPromptOnDone: false})
  return {
    // Messages may quote a server (scope names, error text): redacted and made safe for the terminal here too.
    info: (message) => void stderr.write(`${terminalSafe(redact(message))}\n`),
    warn: (message) => {
      stderr.write(`Warning: ${terminalSafe(redact(message))}\n`)
      logger.event('warning', {message}, 'warn', {echo: false})
    },
    get interactive() {
      return !nonInteractive && Boolean(stdin().isTTY) && Boolean(stderr.isTTY) && !isCi(env)
    },
    async prompt(message, options = {}) {
      const {input} = await import('@inquirer/prompts')
      return input({message, ...(options.default === undefined ? {} : {default: options.default}), ...(options.validate ? {validate: options.validate} : {})}, context())
    },
    async confirm(message, options = {}) {
      const {confirm} = await import('@inquirer/prompts')
      return confirm({message, default: options.default ?? false}, context())
    },
    readLines(onLine, onEnd) {
      // node:readline loads only when a pasted URL may come (login), not on every command.
      const {createInterface} = process.getBuiltinModule('node:readline')
      const lines = createInterface({input: stdin(), terminal: false})
      let stopped = false
      lines.on('line', onLine)
      lines.on('close', () => {
        if (!stopped) onEnd?.()
      })
      return () => {
        stopped = true
        lines.close()
      }
    },
  }
}

/** CI systems set CI (GitHub Actions, GitLab, CircleCI, Buildkite...): never wait for a person there. */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI?.trim().toLowerCase()
  return Boolean(value) && value !== '0' && value !== 'false'
}
