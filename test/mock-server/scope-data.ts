/**
 * Scope data of the PostHog API (posthog/scopes.py, late 2026), copied verbatim from
 * ../shared/spec/scopes.json. The mock plays the server: it keeps its own copy and never imports the
 * CLI's scope constant (src/scopes/constant.ts). Derivations (ALL, UNPRIVILEGED, scopes_supported) live in scopes.ts.
 */

/** Every scope is `object:action` with one of these actions. */
export const SCOPE_ACTIONS: readonly string[] = [
  'read',
  'write',
]

/** Scope objects in the server's declaration order (scopes_supported follows it). */
export const SCOPE_OBJECTS: readonly string[] = [
  'action',
  'access_control',
  'account',
  'activity_log',
  'alert',
  'annotation',
  'approvals',
  'batch_export',
  'batch_import',
  'batch_import_support',
  'billing',
  'business_knowledge',
  'canvas',
  'clickhouse_test_cluster_perf',
  'cohort',
  'comment',
  'conversation',
  'customer_analytics',
  'customer_task',
  'customer_journey',
  'customer_profile_config',
  'data_catalog',
  'data_catalog_approval',
  'dashboard',
  'event_filter',
  'dashboard_template',
  'dataset',
  'early_access_feature',
  'endpoint',
  'engineering_analytics',
  'error_tracking',
  'evaluation',
  'element',
  'event_definition',
  'experiment',
  'experiment_holdout',
  'experiment_saved_metric',
  'export',
  'external_data_schema',
  'external_data_source',
  'feature_flag',
  'file_system',
  'file_system_shortcut',
  'group',
  'health_issue',
  'heatmap',
  'hog_flow',
  'hog_function',
  'ingestion_warning',
  'insight',
  'insight_variable',
  'integration',
  'interactive_run',
  'internal_run',
  'legal_document',
  'link',
  'live_debugger',
  'llm_analytics',
  'ai_observability_clusters',
  'llm_gateway',
  'llm_playground',
  'llm_prompt',
  'llm_provider_key',
  'llm_skill',
  'logs',
  'loop',
  'loop_context_internal',
  'marketing_analytics',
  'mcp_builtin_agent',
  'mcp_analytics',
  'metrics',
  'notebook',
  'organization',
  'organization_integration',
  'organization_member',
  'person',
  'plugin',
  'product_enablement',
  'product_tour',
  'project',
  'property_definition',
  'query',
  'query_performance',
  'replay_scanner',
  'review_hog',
  'revenue_analytics',
  'session_recording',
  'session_recording_playlist',
  'sharing_configuration',
  'signal_scout',
  'signal_scout_internal',
  'signal_scout_report',
  'signal_scratchpad_internal',
  'stamphog',
  'streamlit_app',
  'subscription',
  'survey',
  'tagger',
  'ticket',
  'task',
  'toolbar',
  'tracing',
  'field_note',
  'uploaded_media',
  'usage_metric',
  'user',
  'user_interview',
  'vision_action',
  'vision_alert',
  'visual_review',
  'warehouse_objects',
  'warehouse_table',
  'warehouse_view',
  'web_analytics',
  'webhook',
  'wizard_session',
]

/** Internal objects: not part of ALL, never grantable through OAuth. */
export const INTERNAL_SCOPE_OBJECTS: readonly string[] = [
  'clickhouse_test_cluster_perf',
  'interactive_run',
  'internal_run',
  'loop_context_internal',
  'mcp_builtin_agent',
  'signal_scout_internal',
  'signal_scout_report',
  'signal_scratchpad_internal',
]

/** Hidden objects: grantable through a ceiling, never advertised (server.md section 1). */
export const OAUTH_HIDDEN_SCOPE_OBJECTS: readonly string[] = [
  'wizard_session',
  'query_performance',
  'batch_import_support',
]

/** Admin-granted only: never advertised, never given to DCR apps. */
export const PRIVILEGED_SCOPES: readonly string[] = [
  'llm_gateway:read',
  'llm_gateway:write',
]

/** OpenID Connect scopes. */
export const OIDC_SCOPES: readonly string[] = [
  'openid',
  'profile',
  'email',
]

/** Accepted whatever the ceiling (server.md section 2). */
export const ALWAYS_ALLOWED_SCOPES: readonly string[] = [
  'openid',
  'profile',
  'email',
  'introspection',
]

/** The production wizard app's ceiling. */
export const WIZARD_APP_CEILING: readonly string[] = [
  '@default',
  'llm_gateway:read',
  'wizard_session:read',
  'wizard_session:write',
]

/** The hard-coded provisioning allowlist of an older server (server.md section 5 item 2), kept to reproduce that drift. */
export const HISTORIC_PROVISIONING_ALLOWLIST: readonly string[] = [
  'customer_journey:read',
  'query:read',
  'conversation:read',
  'conversation:write',
  'experiment:read',
  'feature_flag:read',
  'insight:read',
  'organization:read',
  'person:read',
  'project:read',
  'ticket:read',
  'ticket:write',
  'user:read',
  'hog_flow:read',
  'hog_flow:write',
  'llm_gateway:read',
  'dashboard:write',
  'insight:write',
]

/** Sizes the derivations must reproduce (scopes.json `counts`). */
export const SCOPE_COUNTS = {all: 216, unprivileged: 208, scopesSupported: 212} as const
