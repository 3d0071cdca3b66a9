-- Deploy contextinject:functions/current_tenant_id to pg
-- The tenant of the current transaction, for every RLS policy. Fail-closed: unset, empty (what
-- a pooled session reads after an earlier transaction set it) or not a UUID all give NULL, and
-- "tenant_id = NULL" matches no row, so reads see nothing and writes are refused; never a cast
-- error, never another tenant. Policies call it as a scalar subquery, (SELECT ...), so the
-- planner evaluates it once per statement (an InitPlan), not once per row.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE FUNCTION public.current_tenant_id()
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
