import {createInterface} from 'node:readline'

import type {Logger} from './log.js'
import {redact} from './redact.js'

/** Where text goes. Results go to stdout; progress, prompts and warnings to stderr. */
export interface Writer {
  write(chunk: string): unknown
}

/**
 * The one way flows talk to a person (architecture.md "Growing it"): they never write to a stream or
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
  readLines(onLine: (line: string) => void): () => void
}

export interface TerminalUiOptions {
  stdin: NodeJS.ReadableStream & {isTTY?: boolean}
  stderr: Writer & {isTTY?: boolean}
  logger: Logger
  env: NodeJS.ProcessEnv
  /** --non-interactive (or a command that never asks). */
  nonInteractive?: boolean
}

export function createTerminalUi({stdin, stderr, logger, env, nonInteractive = false}: TerminalUiOptions): Ui {
  const interactive = !nonInteractive && Boolean(stdin.isTTY) && Boolean(stderr.isTTY) && !isCi(env)
  const context = {input: stdin, output: stderr as NodeJS.WritableStream, clearPromptOnDone: false}
  return {
    info: (message) => void stderr.write(`${message}\n`),
    warn: (message) => {
      stderr.write(`Warning: ${redact(message)}\n`)
      logger.event('warning', {message}, 'warn', {echo: false})
    },
    interactive,
    async prompt(message, options = {}) {
      const {input} = await import('@inquirer/prompts')
      return input({message, ...(options.default === undefined ? {} : {default: options.default}), ...(options.validate ? {validate: options.validate} : {})}, context)
    },
    async confirm(message, options = {}) {
      const {confirm} = await import('@inquirer/prompts')
      return confirm({message, default: options.default ?? false}, context)
    },
    readLines(onLine) {
      const lines = createInterface({input: stdin, terminal: false})
      lines.on('line', onLine)
      return () => lines.close()
    },
  }
}

/** CI systems set CI (GitHub Actions, GitLab, CircleCI, Buildkite...): never wait for a person there. */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI?.trim().toLowerCase()
  return Boolean(value) && value !== '0' && value !== 'false'
}
