-- Revert contextinject:types/plan from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TYPE public.plan;

COMMIT;
