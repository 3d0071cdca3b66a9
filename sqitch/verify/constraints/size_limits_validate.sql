-- Verify contextinject:constraints/size_limits_validate on pg
BEGIN;

-- Each rule by name, on its table, validated.
SELECT 1 / (count(*) = 19)::int
FROM pg_catalog.pg_constraint
WHERE contype = 'c' AND connamespace = 'public'::regnamespace
  -- A partition's copy of its parent's check (partitions/*) is not another rule.
  AND conrelid NOT IN (SELECT oid FROM pg_catalog.pg_class WHERE relispartition)
  AND convalidated
  AND conname IN ('tenants_settings_max_bytes',
                  'api_keys_scopes_max_bytes',
                  'projects_description_max_bytes',
                  'projects_settings_max_bytes',
                  'connectors_config_max_bytes',
                  'connectors_encrypted_credentials_max_bytes',
                  'connectors_sync_state_max_bytes',
                  'connectors_error_message_max_bytes',
                  'documents_title_max_bytes',
                  'documents_source_url_max_bytes',
                  'documents_access_control_max_bytes',
                  'documents_error_message_max_bytes',
                  'chunks_content_max_bytes',
                  'conversations_messages_max_bytes',
                  'query_logs_query_max_bytes',
                  'query_logs_response_max_bytes',
                  'query_logs_retrieved_chunks_max_bytes',
                  'query_logs_error_message_max_bytes',
                  'audit_logs_user_agent_max_bytes');

ROLLBACK;
