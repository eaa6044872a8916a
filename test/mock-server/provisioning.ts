/**
 * The agentic provisioning API (server.md section 4), assembled: partners and accounts
 * (provisioning-accounts.ts), consent for existing users (provisioning-consent.ts), the token endpoint
 * (provisioning-token.ts) and the Bearer resource endpoints (provisioning-resources.ts), with the partner
 * rate limits of rate-limits.ts. Paths have no trailing slash, except pending/ and confirm/.
 */
import type {HttpHandler} from 'msw'

import {route, type MockContext} from './http.js'
import {handleAccountRequest, handleClientRegistration} from './provisioning-accounts.js'
import {consentHandlers} from './provisioning-consent.js'
import {resourceHandlers} from './provisioning-resources.js'
import {handleProvisioningToken} from './provisioning-token.js'

export function provisioningHandlers(ctx: MockContext): HttpHandler[] {
  return [
    route(ctx, 'POST', '/api/agentic/provisioning/client_registration', 'none', handleClientRegistration(ctx)),
    route(ctx, 'POST', '/api/agentic/provisioning/account_requests', 'none', handleAccountRequest(ctx)),
    route(ctx, 'POST', '/api/agentic/oauth/token', 'none', handleProvisioningToken(ctx)),
    ...resourceHandlers(ctx),
    ...consentHandlers(ctx),
  ]
}
