-- Deploy contextinject:constraints/size_limits to pg
-- Every free-text, jsonb and bytea column the API writes gets a byte limit (varchar(n) columns
-- have theirs already), so a client cannot store a 100 MB chunk or a 20 MB settings document:
-- the write fails with 23514 and the error names the rule, <table>_<column>_max_bytes.
-- Limits are generous for real use and documented in docs/schema.md ("Size limits"); jsonb
-- is measured as its JSON text, like the metadata caps. NOT VALID: existing rows are not
-- scanned under the ACCESS EXCLUSIVE lock; size_limits_validate checks them without blocking.
BEGIN;
SET LOCAL lock_timeout = '5s';

ALTER TABLE public.tenants
    ADD CONSTRAINT tenants_settings_max_bytes
        CHECK (octet_length(settings::text) <= 65536) NOT VALID;
ALTER TABLE public.api_keys
    ADD CONSTRAINT api_keys_scopes_max_bytes
        CHECK (octet_length(scopes::text) <= 8192) NOT VALID;
ALTER TABLE public.projects
    ADD CONSTRAINT projects_description_max_bytes
        CHECK (octet_length(description) <= 16384) NOT VALID,
    ADD CONSTRAINT projects_settings_max_bytes
        CHECK (octet_length(settings::text) <= 65536) NOT VALID;
ALTER TABLE public.connectors
    ADD CONSTRAINT connectors_config_max_bytes
        CHECK (octet_length(config::text) <= 65536) NOT VALID,
    ADD CONSTRAINT connectors_encrypted_credentials_max_bytes
        CHECK (octet_length(encrypted_credentials) <= 65536) NOT VALID,
    ADD CONSTRAINT connectors_sync_state_max_bytes
        CHECK (octet_length(sync_state::text) <= 1048576) NOT VALID,
    ADD CONSTRAINT connectors_error_message_max_bytes
        CHECK (octet_length(error_message) <= 16384) NOT VALID;
ALTER TABLE public.documents
    ADD CONSTRAINT documents_title_max_bytes
        CHECK (octet_length(title) <= 4096) NOT VALID,
    ADD CONSTRAINT documents_source_url_max_bytes
        CHECK (octet_length(source_url) <= 8192) NOT VALID,
    ADD CONSTRAINT documents_access_control_max_bytes
        CHECK (octet_length(access_control::text) <= 262144) NOT VALID,
    ADD CONSTRAINT documents_error_message_max_bytes
        CHECK (octet_length(error_message) <= 16384) NOT VALID;
ALTER TABLE public.chunks
    ADD CONSTRAINT chunks_content_max_bytes
        CHECK (octet_length(content) <= 65536) NOT VALID;
ALTER TABLE public.conversations
    ADD CONSTRAINT conversations_messages_max_bytes
        CHECK (octet_length(messages::text) <= 1048576) NOT VALID;
ALTER TABLE public.query_logs
    ADD CONSTRAINT query_logs_query_max_bytes
        CHECK (octet_length(query) <= 65536) NOT VALID,
    ADD CONSTRAINT query_logs_response_max_bytes
        CHECK (octet_length(response) <= 262144) NOT VALID,
    ADD CONSTRAINT query_logs_retrieved_chunks_max_bytes
        CHECK (octet_length(retrieved_chunks::text) <= 262144) NOT VALID,
    ADD CONSTRAINT query_logs_error_message_max_bytes
        CHECK (octet_length(error_message) <= 16384) NOT VALID;
ALTER TABLE public.audit_logs
    ADD CONSTRAINT audit_logs_user_agent_max_bytes
        CHECK (octet_length(user_agent) <= 2048) NOT VALID;

COMMIT;
