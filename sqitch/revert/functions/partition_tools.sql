-- Revert contextinject:functions/partition_tools from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP FUNCTION public.rebuild_log_table(regclass, boolean, text, integer, text);
DROP FUNCTION public.secure_partitions(regclass);
DROP FUNCTION public.copy_row_security(regclass, regclass);

COMMIT;
