-- Revert contextinject:types/region from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TYPE public.region;

COMMIT;
