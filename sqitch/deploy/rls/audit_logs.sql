-- Deploy contextinject:rls/audit_logs to pg
-- Tenant isolation on audit_logs: enabled AND forced (the owner is held to it too), one policy for
-- every command with USING (which rows are visible) and WITH CHECK (which rows may be written).
BEGIN;
SET LOCAL lock_timeout = '5s';

ALTER TABLE public.audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.audit_logs FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON public.audit_logs
    FOR ALL
    USING (tenant_id = (SELECT public.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT public.current_tenant_id()));

COMMIT;
