-- Revert contextinject:schema/chunks from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TABLE public.chunks;

COMMIT;
