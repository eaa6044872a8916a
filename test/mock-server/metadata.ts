/**
 * Discovery (server.md section 1): RFC 8414 metadata, the OIDC configuration and the JWKS.
 * scopes_supported is derived from the scope model (scopes.ts), never written out by hand.
 */
import type {HttpHandler} from 'msw'

import {deviceMetadata} from './device.js'
import {cloudFields, endpoint, json, route, type MockContext} from './http.js'
import {scopesSupported} from './scopes.js'

export const JWKS_PATH = '/.well-known/jwks.json'

export function authorizationServerMetadata(ctx: MockContext): Record<string, unknown> {
  return {
    issuer: ctx.issuer,
    authorization_endpoint: endpoint(ctx, '/oauth/authorize/'),
    token_endpoint: endpoint(ctx, '/oauth/token/'),
    userinfo_endpoint: endpoint(ctx, '/oauth/userinfo/'),
    revocation_endpoint: endpoint(ctx, '/oauth/revoke/'),
    introspection_endpoint: endpoint(ctx, '/oauth/introspect/'),
    registration_endpoint: endpoint(ctx, '/oauth/register/'),
    jwks_uri: endpoint(ctx, JWKS_PATH),
    scopes_supported: scopesSupported(),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    // With the device grant on (device.ts): device_authorization_endpoint, and its grant type added.
    ...deviceMetadata(ctx, ['authorization_code', 'refresh_token']),
    token_endpoint_auth_methods_supported: ['none', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    client_id_metadata_document_supported: true,
    // RFC 9207: only when this mock instance sends `iss` on its authorize redirects.
    ...(ctx.state.config.iss_parameter ? {authorization_response_iss_parameter_supported: true} : {}),
    ...cloudFields(ctx.issuer),
  }
}

/** OpenID Connect Discovery 1.0 section 3: the RFC 8414 fields plus the OIDC ones. */
export function openidConfiguration(ctx: MockContext): Record<string, unknown> {
  return {
    ...authorizationServerMetadata(ctx),
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    claims_supported: ['iss', 'sub', 'aud', 'iat', 'exp', 'nonce', 'email', 'email_verified', 'name', 'given_name'],
  }
}

export function metadataHandlers(ctx: MockContext): HttpHandler[] {
  return [
    route(ctx, 'GET', '/.well-known/oauth-authorization-server', 'optional', () => json(authorizationServerMetadata(ctx))),
    route(ctx, 'GET', '/.well-known/openid-configuration', 'optional', () => json(openidConfiguration(ctx))),
    route(ctx, 'GET', JWKS_PATH, 'optional', () => json(ctx.signer.jwks())),
  ]
}
