-- Revert contextinject:rls/tenants from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP POLICY tenant_isolation ON public.tenants;
ALTER TABLE public.tenants NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.tenants DISABLE ROW LEVEL SECURITY;

COMMIT;
