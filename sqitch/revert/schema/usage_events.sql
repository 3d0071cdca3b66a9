-- Revert contextinject:schema/usage_events from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TABLE public.usage_events;

COMMIT;
