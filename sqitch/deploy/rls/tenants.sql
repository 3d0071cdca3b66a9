-- Deploy contextinject:rls/tenants to pg
-- Tenant isolation on tenants: enabled AND forced (the owner is held to it too), one policy for
-- every command with USING (which rows are visible) and WITH CHECK (which rows may be written).
-- A tenant sees and changes only its own row (its id is the tenant id).
BEGIN;
SET LOCAL lock_timeout = '5s';

ALTER TABLE public.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.tenants FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON public.tenants
    FOR ALL
    USING (id = (SELECT public.current_tenant_id()))
    WITH CHECK (id = (SELECT public.current_tenant_id()));

COMMIT;
