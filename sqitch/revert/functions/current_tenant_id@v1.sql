-- Revert contextinject:functions/current_tenant_id from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP FUNCTION public.current_tenant_id();

COMMIT;
