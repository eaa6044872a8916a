import {Args, Flags} from '@oclif/core'

import {OnrampCommand} from '../../cli/base-command.js'
import type {ImportResult} from '../../flows/sessions-transfer.js'

/** An export is a few kilobytes; anything far larger is not one. */
const MAX_INPUT_BYTES = 1024 * 1024

export default class SessionsImport extends OnrampCommand {
  static override summary = 'Store a session from onramp sessions export into the store ONRAMP_STORAGE selects.'
  static override description =
    'FILE is what onramp sessions export printed, or - (the default) for stdin. Needs the ONRAMP_STORE_KEY it was sealed with. A different session for the same server and client already in the store is kept unless --force.'
  static override examples = ['ONRAMP_STORAGE=redis <%= config.bin %> sessions import session.json', '<%= config.bin %> sessions export | ONRAMP_STORAGE=redis <%= config.bin %> sessions import -']
  static override args = {file: Args.string({description: 'The export file, or - for stdin.', default: '-', ignoreStdin: true})}
  static override flags = {
    force: Flags.boolean({description: 'Replace a different session already stored for the same server and client.', default: false}),
  }

  async run(): Promise<ImportResult> {
    const {args, flags} = await this.parse(SessionsImport)
    const [{importSession}, {renderImport}, text] = await Promise.all([import('../../flows/sessions-transfer.js'), import('../../render/session.js'), readInput(args.file)])
    const result = await importSession(await this.deps(flags), {text, force: flags.force})
    return this.output(result, renderImport)
  }
}

async function readInput(file: string): Promise<string> {
  const {UsageError} = await import('../../errors.js')
  if (file !== '-') {
    const {readFile, stat} = await import('node:fs/promises')
    const info = await stat(file).catch(() => undefined)
    if (!info?.isFile()) throw new UsageError(`${file} is not a file: pass the file onramp sessions export wrote, or - for stdin.`)
    if (info.size > MAX_INPUT_BYTES) throw new UsageError(`${file} is ${info.size} bytes: too large for a session export.`)
    return readFile(file, 'utf8')
  }
  if (process.stdin.isTTY) throw new UsageError('Pipe a session export into stdin (onramp sessions export | onramp sessions import -), or pass its file.')
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_INPUT_BYTES) throw new UsageError('stdin holds more than a session export (over 1 MiB).')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}
