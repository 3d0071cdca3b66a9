-- Revert contextinject:rls/usage_events from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP POLICY tenant_isolation ON public.usage_events;
ALTER TABLE public.usage_events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.usage_events DISABLE ROW LEVEL SECURITY;

COMMIT;
