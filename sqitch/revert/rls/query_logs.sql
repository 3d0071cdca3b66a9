-- Revert contextinject:rls/query_logs from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP POLICY tenant_isolation ON public.query_logs;
ALTER TABLE public.query_logs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.query_logs DISABLE ROW LEVEL SECURITY;

COMMIT;
