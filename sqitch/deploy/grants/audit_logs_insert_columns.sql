-- Deploy contextinject:grants/audit_logs_insert_columns to pg
-- The server, not the writer, says when an audit event was recorded and which id it has:
-- ci_app and ci_admin may INSERT every column of audit_logs except id and created_at, so
-- naming either fails with 42501 and the defaults (gen_random_uuid(), now()) always apply.
-- A back-dated row would let whoever holds a password rewrite the order of events, or hide one
-- below the retention purge's cut-off; a chosen id could collide on purpose. RETURNING id still
-- works (both roles keep SELECT). History with its own timestamps (an import from another
-- system) is written by the owner, ci_migrator acting as ci_owner, which could change the
-- table anyway; see docs/schema.md.
BEGIN;
SET LOCAL lock_timeout = '5s';

REVOKE INSERT ON public.audit_logs FROM ci_app, ci_admin;
GRANT INSERT (tenant_id, user_id, api_key_id, action, resource_type, resource_id, metadata,
    ip_address, user_agent) ON public.audit_logs TO ci_app, ci_admin;

COMMIT;
