-- Verify contextinject:functions/run_partition_maintenance on pg
BEGIN;

SELECT 1 / count(*) FROM pg_catalog.pg_proc
WHERE oid = 'public.run_partition_maintenance()'::regprocedure
  AND prosecdef
  AND proconfig @> ARRAY['search_path=pg_catalog, pg_temp', 'lock_timeout=1s']
  AND has_function_privilege('ci_partman', oid, 'EXECUTE')
  AND NOT has_function_privilege('ci_app', oid, 'EXECUTE');

ROLLBACK;
