-- Revert contextinject:functions/current_tenant_id from pg
-- Back to the @v1 body (deploy/functions/current_tenant_id@v1.sql); REPLACE keeps the policies
-- that depend on the function.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE OR REPLACE FUNCTION public.current_tenant_id()
RETURNS uuid
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN setting ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        THEN setting::uuid
    END
    FROM (SELECT pg_catalog.current_setting('app.tenant_id', true) AS setting) AS s
$$;

COMMIT;
