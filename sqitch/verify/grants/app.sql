-- Verify contextinject:grants/app on pg
BEGIN;

SELECT 1 / (pg_catalog.has_table_privilege('ci_app', 'public.chunks', 'SELECT')
    AND pg_catalog.has_table_privilege('ci_app', 'public.audit_logs', 'SELECT')
    AND pg_catalog.has_table_privilege('ci_app', 'public.tenants', 'SELECT')
    AND pg_catalog.has_function_privilege('ci_app', 'public.current_tenant_id()', 'EXECUTE'))::int;

ROLLBACK;
