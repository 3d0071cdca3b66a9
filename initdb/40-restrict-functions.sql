-- Built-in functions that let any role leave something behind, revoked from PUBLIC in the
-- application database (function ACLs are per database). Run as the superuser on every start.

-- Advisory locks: one held on Sqitch's key (or any key) outlives the transaction in a pooled
-- session and can stall the next deploy. Only the deploy (ci_owner, ci_migrator) and the
-- operators' tooling (ci_admin, the dev seed) take them. Under transaction pooling a
-- session-level lock would stick to a server connection anyway.
SELECT pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', p.oid::pg_catalog.regprocedure),
       pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO ci_owner, ci_migrator, ci_admin',
           p.oid::pg_catalog.regprocedure)
FROM pg_catalog.pg_proc AS p
WHERE p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace
  AND (p.proname OPERATOR(pg_catalog.~) '^pg_(try_)?advisory_(xact_)?lock(_shared)?$'
       OR p.proname OPERATOR(pg_catalog.~) '^pg_advisory_unlock')
\gexec

-- Large objects live outside every table, its RLS and its size limits, and outlive the
-- session: nobody but the superuser creates them.
SELECT pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', p.oid::pg_catalog.regprocedure)
FROM pg_catalog.pg_proc AS p
WHERE p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace
  AND p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['lo_creat', 'lo_create', 'lo_from_bytea', 'lo_import'])
\gexec

-- pgaudit (loaded by postgresql.conf) logs DDL and role statements with passwords redacted;
-- its event triggers need the extension in each database, and fail every DDL statement when
-- the library is not loaded (a config without it): the extension follows the library.
SELECT pg_catalog.current_setting('shared_preload_libraries') OPERATOR(pg_catalog.~) '(^|,)\s*pgaudit\s*(,|$)' AS pgaudit_loaded
\gset
\if :pgaudit_loaded
CREATE EXTENSION IF NOT EXISTS pgaudit WITH SCHEMA extensions;
\else
DROP EXTENSION IF EXISTS pgaudit;
\endif
