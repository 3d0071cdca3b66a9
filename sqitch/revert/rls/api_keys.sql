-- Revert contextinject:rls/api_keys from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP POLICY tenant_isolation ON public.api_keys;
ALTER TABLE public.api_keys NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.api_keys DISABLE ROW LEVEL SECURITY;

COMMIT;
