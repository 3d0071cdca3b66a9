-- Revert contextinject:rls/connectors from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP POLICY tenant_isolation ON public.connectors;
ALTER TABLE public.connectors NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.connectors DISABLE ROW LEVEL SECURITY;

COMMIT;
