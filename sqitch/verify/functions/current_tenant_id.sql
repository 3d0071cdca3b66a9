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
    -- Inlinable: one expression, no FROM (the @v1 body was planned per statement).
    IF (SELECT pg_catalog.strpos(pg_catalog.lower(p.prosrc), ' from ') FROM pg_catalog.pg_proc AS p
        WHERE p.oid = 'public.current_tenant_id()'::pg_catalog.regprocedure) > 0 THEN
        RAISE EXCEPTION 'current_tenant_id(): the body must be one expression (inlinable)';
    END IF;
END
$$;

ROLLBACK;
