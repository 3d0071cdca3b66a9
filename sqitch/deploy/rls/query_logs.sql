-- Deploy contextinject:rls/query_logs to pg
-- Tenant isolation on query_logs: enabled AND forced (the owner is held to it too), one policy for
-- every command with USING (which rows are visible) and WITH CHECK (which rows may be written).
BEGIN;
SET LOCAL lock_timeout = '5s';

ALTER TABLE public.query_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.query_logs FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON public.query_logs
    FOR ALL
    USING (tenant_id = (SELECT public.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT public.current_tenant_id()));

COMMIT;
