-- Revert contextinject:constraints/size_limits from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

ALTER TABLE public.tenants
    DROP CONSTRAINT tenants_settings_max_bytes;
ALTER TABLE public.api_keys
    DROP CONSTRAINT api_keys_scopes_max_bytes;
ALTER TABLE public.projects
    DROP CONSTRAINT projects_description_max_bytes,
    DROP CONSTRAINT projects_settings_max_bytes;
ALTER TABLE public.connectors
    DROP CONSTRAINT connectors_config_max_bytes,
    DROP CONSTRAINT connectors_encrypted_credentials_max_bytes,
    DROP CONSTRAINT connectors_sync_state_max_bytes,
    DROP CONSTRAINT connectors_error_message_max_bytes;
ALTER TABLE public.documents
    DROP CONSTRAINT documents_title_max_bytes,
    DROP CONSTRAINT documents_source_url_max_bytes,
    DROP CONSTRAINT documents_access_control_max_bytes,
    DROP CONSTRAINT documents_error_message_max_bytes;
ALTER TABLE public.chunks
    DROP CONSTRAINT chunks_content_max_bytes;
ALTER TABLE public.conversations
    DROP CONSTRAINT conversations_messages_max_bytes;
ALTER TABLE public.query_logs
    DROP CONSTRAINT query_logs_query_max_bytes,
    DROP CONSTRAINT query_logs_response_max_bytes,
    DROP CONSTRAINT query_logs_retrieved_chunks_max_bytes,
    DROP CONSTRAINT query_logs_error_message_max_bytes;
ALTER TABLE public.audit_logs
    DROP CONSTRAINT audit_logs_user_agent_max_bytes;

COMMIT;
