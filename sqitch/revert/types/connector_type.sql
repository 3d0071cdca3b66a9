-- Revert contextinject:types/connector_type from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TYPE public.connector_type;

COMMIT;
