-- Revert contextinject:functions/set_updated_at from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP FUNCTION public.set_updated_at();

COMMIT;
