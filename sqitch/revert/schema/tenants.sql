-- Revert contextinject:schema/tenants from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TABLE public.tenants;

COMMIT;
