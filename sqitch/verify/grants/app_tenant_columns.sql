-- Verify contextinject:grants/app_tenant_columns on pg
BEGIN;

SELECT 1 / (pg_catalog.has_column_privilege('ci_app', 'public.tenants', 'name', 'UPDATE')
    AND NOT pg_catalog.has_table_privilege('ci_app', 'public.tenants', 'UPDATE')
    AND NOT pg_catalog.has_any_column_privilege('ci_app', 'public.tenants', 'INSERT')
    AND NOT EXISTS (
        SELECT FROM pg_catalog.pg_attribute
        WHERE attrelid = 'public.tenants'::regclass AND attnum > 0 AND NOT attisdropped
          AND attname <> 'name'
          AND pg_catalog.has_column_privilege('ci_app', attrelid, attnum, 'UPDATE')
    ))::int;

ROLLBACK;
