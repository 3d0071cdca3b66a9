-- Revert contextinject:schema/api_keys from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TABLE public.api_keys;

COMMIT;
