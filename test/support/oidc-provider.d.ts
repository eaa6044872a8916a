// oidc-provider ships no types; the tests use only this much of it.
declare module 'oidc-provider' {
  import type {IncomingMessage, ServerResponse} from 'node:http'

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>)
    proxy: boolean
    callback(): (request: IncomingMessage, response: ServerResponse) => void
  }
}
