-- Verify contextinject:grants/readonly on pg
BEGIN;

SELECT 1 / (pg_catalog.has_table_privilege('ci_readonly', 'public.chunks', 'SELECT')
    AND pg_catalog.has_table_privilege('ci_readonly', 'public.audit_logs', 'SELECT')
    AND pg_catalog.has_table_privilege('ci_readonly', 'public.tenants', 'SELECT')
    AND pg_catalog.has_function_privilege('ci_readonly', 'public.current_tenant_id()', 'EXECUTE'))::int;

ROLLBACK;
