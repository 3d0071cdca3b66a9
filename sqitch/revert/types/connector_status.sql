-- Revert contextinject:types/connector_status from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TYPE public.connector_status;

COMMIT;
