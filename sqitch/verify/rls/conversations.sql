-- Verify contextinject:rls/conversations on pg
BEGIN;

SELECT 1 / count(*)
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_policy AS p ON p.polrelid = c.oid
WHERE c.oid = 'public.conversations'::regclass
  AND c.relrowsecurity
  AND c.relforcerowsecurity
  AND p.polname = 'tenant_isolation'
  AND p.polcmd = '*'
  AND p.polqual IS NOT NULL
  AND p.polwithcheck IS NOT NULL;

ROLLBACK;
