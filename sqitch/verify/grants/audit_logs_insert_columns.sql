-- Verify contextinject:grants/audit_logs_insert_columns on pg
BEGIN;

SELECT 1 / (NOT EXISTS (
    SELECT FROM unnest(ARRAY['ci_app', 'ci_admin']) AS r (role),
        pg_catalog.pg_attribute AS a
    WHERE a.attrelid = 'public.audit_logs'::regclass AND a.attnum > 0 AND NOT a.attisdropped
      AND pg_catalog.has_column_privilege(r.role, a.attrelid, a.attnum, 'INSERT')
          <> (a.attname NOT IN ('id', 'created_at'))
))::int;

ROLLBACK;
