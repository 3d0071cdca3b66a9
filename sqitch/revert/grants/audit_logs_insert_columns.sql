-- Revert contextinject:grants/audit_logs_insert_columns from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

REVOKE INSERT (tenant_id, user_id, api_key_id, action, resource_type, resource_id, metadata,
    ip_address, user_agent) ON public.audit_logs FROM ci_app, ci_admin;
GRANT INSERT ON public.audit_logs TO ci_app, ci_admin;

COMMIT;
