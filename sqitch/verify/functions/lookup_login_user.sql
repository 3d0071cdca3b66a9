-- Verify contextinject:functions/lookup_login_user on pg
BEGIN;

SELECT 1 / count(*)
FROM pg_catalog.pg_proc
WHERE oid = 'public.lookup_login_user(text, text)'::regprocedure
  AND prosecdef
  AND proowner = 'ci_auth_lookup'::regrole
  AND proconfig @> ARRAY['search_path=pg_catalog, pg_temp']
  AND pg_catalog.has_function_privilege('ci_app', oid, 'EXECUTE')
  AND NOT pg_catalog.has_function_privilege('ci_readonly', oid, 'EXECUTE');

ROLLBACK;
