-- Verify contextinject:functions/current_tenant_id on pg
BEGIN;

DO $$
BEGIN
    PERFORM pg_catalog.set_config('app.tenant_id', '', true);
    IF public.current_tenant_id() IS NOT NULL THEN
        RAISE EXCEPTION 'current_tenant_id(): an empty setting must read as NULL';
    END IF;
    PERFORM pg_catalog.set_config('app.tenant_id', 'not-a-uuid', true);
    IF public.current_tenant_id() IS NOT NULL THEN
        RAISE EXCEPTION 'current_tenant_id(): a malformed setting must read as NULL';
    END IF;
    PERFORM pg_catalog.set_config('app.tenant_id', '00000000-0000-0000-0000-000000000001', true);
    IF public.current_tenant_id() IS DISTINCT FROM '00000000-0000-0000-0000-000000000001'::uuid THEN
        RAISE EXCEPTION 'current_tenant_id(): a UUID setting must read back';
    END IF;
END
$$;

ROLLBACK;
