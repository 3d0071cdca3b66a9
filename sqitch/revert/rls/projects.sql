-- Revert contextinject:rls/projects from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP POLICY tenant_isolation ON public.projects;
ALTER TABLE public.projects NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.projects DISABLE ROW LEVEL SECURITY;

COMMIT;
