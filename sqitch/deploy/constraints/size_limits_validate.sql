-- Deploy contextinject:constraints/size_limits_validate to pg
-- VALIDATE takes SHARE UPDATE EXCLUSIVE: reads and writes continue while old rows are checked.
BEGIN;
SET LOCAL lock_timeout = '5s';

ALTER TABLE public.tenants VALIDATE CONSTRAINT tenants_settings_max_bytes;
ALTER TABLE public.api_keys VALIDATE CONSTRAINT api_keys_scopes_max_bytes;
ALTER TABLE public.projects VALIDATE CONSTRAINT projects_description_max_bytes;
ALTER TABLE public.projects VALIDATE CONSTRAINT projects_settings_max_bytes;
ALTER TABLE public.connectors VALIDATE CONSTRAINT connectors_config_max_bytes;
ALTER TABLE public.connectors VALIDATE CONSTRAINT connectors_encrypted_credentials_max_bytes;
ALTER TABLE public.connectors VALIDATE CONSTRAINT connectors_sync_state_max_bytes;
ALTER TABLE public.connectors VALIDATE CONSTRAINT connectors_error_message_max_bytes;
ALTER TABLE public.documents VALIDATE CONSTRAINT documents_title_max_bytes;
ALTER TABLE public.documents VALIDATE CONSTRAINT documents_source_url_max_bytes;
ALTER TABLE public.documents VALIDATE CONSTRAINT documents_access_control_max_bytes;
ALTER TABLE public.documents VALIDATE CONSTRAINT documents_error_message_max_bytes;
ALTER TABLE public.chunks VALIDATE CONSTRAINT chunks_content_max_bytes;
ALTER TABLE public.conversations VALIDATE CONSTRAINT conversations_messages_max_bytes;
ALTER TABLE public.query_logs VALIDATE CONSTRAINT query_logs_query_max_bytes;
ALTER TABLE public.query_logs VALIDATE CONSTRAINT query_logs_response_max_bytes;
ALTER TABLE public.query_logs VALIDATE CONSTRAINT query_logs_retrieved_chunks_max_bytes;
ALTER TABLE public.query_logs VALIDATE CONSTRAINT query_logs_error_message_max_bytes;
ALTER TABLE public.audit_logs VALIDATE CONSTRAINT audit_logs_user_agent_max_bytes;

COMMIT;
