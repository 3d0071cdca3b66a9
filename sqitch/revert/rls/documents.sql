-- Revert contextinject:rls/documents from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP POLICY tenant_isolation ON public.documents;
ALTER TABLE public.documents NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.documents DISABLE ROW LEVEL SECURITY;

COMMIT;
