-- Revert contextinject:schema/query_logs from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TABLE public.query_logs;

COMMIT;
