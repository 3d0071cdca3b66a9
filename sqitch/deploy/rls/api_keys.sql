-- Deploy contextinject:rls/api_keys to pg
-- Tenant isolation on api_keys: enabled AND forced (the owner is held to it too), one policy for
-- every command with USING (which rows are visible) and WITH CHECK (which rows may be written).
BEGIN;
SET LOCAL lock_timeout = '5s';

ALTER TABLE public.api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.api_keys FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON public.api_keys
    FOR ALL
    USING (tenant_id = (SELECT public.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT public.current_tenant_id()));

COMMIT;
