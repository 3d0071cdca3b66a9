-- Revert contextinject:rls/audit_logs from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP POLICY tenant_isolation ON public.audit_logs;
ALTER TABLE public.audit_logs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.audit_logs DISABLE ROW LEVEL SECURITY;

COMMIT;
