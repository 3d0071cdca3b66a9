-- Revert contextinject:rls/chunks from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP POLICY tenant_isolation ON public.chunks;
ALTER TABLE public.chunks NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.chunks DISABLE ROW LEVEL SECURITY;

COMMIT;
