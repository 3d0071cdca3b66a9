-- See README.md: expect.relation has RLS enabled and forced, and tenant_isolation for every command.
DO $$
DECLARE
    tab regclass := current_setting('expect.relation')::regclass;
BEGIN
    IF NOT EXISTS (
        SELECT FROM pg_catalog.pg_class AS c
        JOIN pg_catalog.pg_policy AS p ON p.polrelid = c.oid
        WHERE c.oid = tab AND c.relrowsecurity AND c.relforcerowsecurity
          AND p.polname = 'tenant_isolation' AND p.polcmd = '*'
          AND p.polqual IS NOT NULL AND p.polwithcheck IS NOT NULL
    ) THEN
        RAISE EXCEPTION '%: RLS not forced or policy tenant_isolation missing', tab;
    END IF;
END
$$;
