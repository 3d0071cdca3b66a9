-- Revert contextinject:schema/conversations from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TABLE public.conversations;

COMMIT;
