-- Deploy contextinject:rls/users to pg
-- Tenant isolation on users: enabled AND forced (the owner is held to it too), one policy for
-- every command with USING (which rows are visible) and WITH CHECK (which rows may be written).
BEGIN;
SET LOCAL lock_timeout = '5s';

ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.users FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON public.users
    FOR ALL
    USING (tenant_id = (SELECT public.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT public.current_tenant_id()));

COMMIT;
