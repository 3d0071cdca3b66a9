-- Deploy contextinject:functions/current_tenant_id to pg
-- The tenant of the current transaction, for every RLS policy. Fail-closed: unset, empty (what
-- a pooled session reads after an earlier transaction set it) or not a UUID all give NULL, and
-- "tenant_id = NULL" matches no row, so reads see nothing and writes are refused; never a cast
-- error, never another tenant. Policies call it as a scalar subquery, (SELECT ...), so the
-- planner evaluates it once per statement (an InitPlan), not once per row.
--
-- Reworked after @v1: the body is one expression with no FROM, so the planner inlines it. The
-- released body (a SELECT ... FROM a subquery) was not inlinable: every statement under RLS
-- planned and ran it through the SQL-function executor, 35 us of a 190 us document insert
-- (EXPLAIN ANALYZE, issue 14). The operator is schema-qualified because an inlined body is
-- parsed with the caller's search_path.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE OR REPLACE FUNCTION public.current_tenant_id()
RETURNS uuid
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN pg_catalog.current_setting('app.tenant_id', true) OPERATOR(pg_catalog.~*)
            '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        THEN pg_catalog.current_setting('app.tenant_id', true)::pg_catalog.uuid
    END
$$;

COMMIT;
