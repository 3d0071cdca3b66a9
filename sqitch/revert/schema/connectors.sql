-- Revert contextinject:schema/connectors from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TABLE public.connectors;

COMMIT;
