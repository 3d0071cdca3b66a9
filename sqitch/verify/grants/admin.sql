-- Verify contextinject:grants/admin on pg
BEGIN;

SELECT 1 / (pg_catalog.has_table_privilege('ci_admin', 'public.chunks', 'SELECT')
    AND pg_catalog.has_table_privilege('ci_admin', 'public.audit_logs', 'SELECT')
    AND pg_catalog.has_table_privilege('ci_admin', 'public.tenants', 'SELECT')
    AND pg_catalog.has_function_privilege('ci_admin', 'public.current_tenant_id()', 'EXECUTE'))::int;

ROLLBACK;
