-- Revert contextinject:functions/run_partition_maintenance from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP FUNCTION public.run_partition_maintenance();

COMMIT;
