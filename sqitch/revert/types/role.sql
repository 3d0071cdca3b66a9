-- Revert contextinject:types/role from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TYPE public.role;

COMMIT;
