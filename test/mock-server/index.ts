/**
 * A mock of the PostHog authorization server and provisioning API (../shared/spec/server.md), as MSW
 * handlers. In-process: `setupServer(...createMockServer().handlers)`. Served: test/mock-server/serve.ts.
 */
import type {HttpHandler} from 'msw'

import {authorizeHandlers} from './authorize.js'
import {controlHandlers, createControl, type MockControl} from './control.js'
import {createDeviceGrant, type DeviceSettings} from './device.js'
import {faultHandler, lateFault} from './faults.js'
import {notFoundHandler, type MockContext} from './http.js'
import {createIdTokenSigner} from './id-token.js'
import {metadataHandlers} from './metadata.js'
import {introspectionHandlers} from './introspection.js'
import {oauthHandlers} from './oauth.js'
import {provisioningHandlers} from './provisioning.js'
import {createState, type MockState} from './state.js'
import {userApiHandlers} from './user-api.js'

export {WIZARD_CLIENT_IDS, WIZARD_REDIRECT_URIS, DEFAULT_USER_EMAIL} from './state.js'
export type {MockControl, AppInput, UserInput, ConfigInput, Snapshot, BucketLimitInput} from './control.js'
export type {MockState, MockEvent, OAuthApp, User, MockConfig, BucketName, BucketLimit} from './state.js'
export type {FaultInput} from './faults.js'
export type {DeviceCodeView, DeviceSettings} from './device.js'

export interface MockServerOptions {
  /** The server's base URL; default `https://us.posthog.com`. Handlers only answer requests to it. */
  issuer?: string
  /** `/oauth/authorize` scope policy (server.md): `reject` (default) or `clamp`. */
  policy?: 'reject' | 'clamp'
  /** Skip the consent page: authorize redirects with a code straight away. */
  autoApprove?: boolean
  /** Send RFC 9207 `iss` on authorize redirects and advertise it (default false, like PostHog). */
  issParameter?: boolean
  /** The clock, in ms since the epoch (default Date.now); tests move it to expire codes and tokens. */
  now?: () => number
  /** Served mode: match requests on their path alone, whatever Host they were sent to. */
  matchAnyOrigin?: boolean
  /**
   * Offer the device authorization grant (RFC 8628; device.ts), which PostHog does not: true, or its
   * settings `{interval?, expires_in?}` (default 1 s and 600 s). Off by default.
   */
  deviceGrant?: boolean | Partial<DeviceSettings>
}

export interface MockServer {
  handlers: HttpHandler[]
  state: MockState
  control: MockControl
  issuer: string
}

export const DEFAULT_ISSUER = 'https://us.posthog.com'

export function createMockServer(options: MockServerOptions = {}): MockServer {
  const issuer = (options.issuer ?? DEFAULT_ISSUER).replace(/\/+$/, '')
  const state = createState(options)
  const ctx: MockContext = {
    state,
    issuer,
    basePath: new URL(issuer).pathname.replace(/\/+$/, ''),
    matchAnyOrigin: options.matchAnyOrigin ?? false,
    signer: createIdTokenSigner(),
    knownPaths: new Map(),
  }
  ctx.lateFault = lateFault(ctx)
  ctx.device = createDeviceGrant(ctx, options.deviceGrant)
  const control = createControl(ctx, options)
  const handlers = [
    // First: counting, latency and injected faults; it falls through to the routes below.
    faultHandler(ctx),
    ...controlHandlers(ctx, control),
    ...metadataHandlers(ctx),
    ...authorizeHandlers(ctx),
    // Before oauthHandlers: it answers the device_code grant at the token endpoint and lets the rest through.
    ...ctx.device.handlers,
    ...oauthHandlers(ctx),
    ...introspectionHandlers(ctx),
    ...userApiHandlers(ctx),
    ...provisioningHandlers(ctx),
    // Last: nothing on this origin reaches the real network.
    notFoundHandler(ctx),
  ]
  return {handlers, state, control, issuer}
}
