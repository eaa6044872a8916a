import {OnrampCommand} from '../cli/base-command.js'

export interface StoreKeyResult {
  store_key: string
  variable: 'ONRAMP_STORE_KEY'
  bytes: 32
}

export default class StoreKey extends OnrampCommand {
  static override summary = 'Print a new random key for ONRAMP_STORE_KEY (32 bytes, base64).'
  static override description =
    'The Redis store (ONRAMP_STORAGE=redis) and onramp sessions export seal tokens with AES-256-GCM under this key. Make it once, keep it as a secret (a CI secret, a password manager): every machine sharing the Redis needs the same key, and sessions sealed with a lost key cannot be opened. stdout holds the key alone.'
  static override examples = ['export ONRAMP_STORE_KEY="$(<%= config.bin %> store-key)"', 'gh secret set ONRAMP_STORE_KEY --body "$(<%= config.bin %> store-key)"', '<%= config.bin %> store-key --json']

  async run(): Promise<StoreKeyResult> {
    await this.parse(StoreKey)
    const {newStoreKey} = await import('../session/seal.js')
    const result: StoreKeyResult = {store_key: newStoreKey(), variable: 'ONRAMP_STORE_KEY', bytes: 32}
    if (!this.jsonEnabled()) {
      process.stdout.write(`${result.store_key}\n`)
      if (process.stderr.isTTY) process.stderr.write('Keep it secret: set it as ONRAMP_STORE_KEY wherever onramp uses the Redis store (the same key on every machine).\n')
    }
    return result
  }
}
