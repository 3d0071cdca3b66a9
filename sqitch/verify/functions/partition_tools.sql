-- Verify contextinject:functions/partition_tools on pg
BEGIN;

SELECT 1 / count(*) FROM pg_catalog.pg_proc
WHERE oid = 'public.rebuild_log_table(regclass, boolean, text, integer, text)'::regprocedure
  AND NOT prosecdef AND NOT has_function_privilege('ci_app', oid, 'EXECUTE');
SELECT 1 / count(*) FROM pg_catalog.pg_proc
WHERE oid = 'public.secure_partitions(regclass)'::regprocedure
  AND NOT prosecdef AND NOT has_function_privilege('ci_app', oid, 'EXECUTE');
SELECT 1 / count(*) FROM pg_catalog.pg_proc
WHERE oid = 'public.copy_row_security(regclass, regclass)'::regprocedure
  AND NOT prosecdef AND NOT has_function_privilege('ci_app', oid, 'EXECUTE');

ROLLBACK;
