-- PgBouncer's side of the database, run by the entrypoint as the superuser on every start.
-- get_auth is the auth_query target: it returns the stored SCRAM verifier so PgBouncer can do
-- SCRAM pass-through, and no userlist of application passwords exists anywhere. Owned by the
-- superuser because only it reads pg_authid.
SET log_statement = 'none';

CREATE SCHEMA IF NOT EXISTS pgbouncer AUTHORIZATION :"superuser";
-- A schema the superuser does not own could have its functions swapped by its owner.
ALTER SCHEMA pgbouncer OWNER TO :"superuser";
REVOKE ALL ON SCHEMA pgbouncer FROM PUBLIC;
GRANT USAGE ON SCHEMA pgbouncer TO pgbouncer_auth, ci_app, ci_readonly, ci_admin;

-- Serves only the roles the pooler is for. Whoever holds pgbouncer_auth's password can read
-- these three verifiers (they allow offline guessing, not a login); never ci_migrator's,
-- pgbouncer_auth's own or a superuser's. Refuses NOLOGIN, expired and non-SCRAM roles.
CREATE OR REPLACE FUNCTION pgbouncer.get_auth(p_usename text)
RETURNS TABLE (usename text, passwd text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.rolname::text, a.rolpassword::text
    FROM pg_catalog.pg_authid AS a
    WHERE a.rolname = p_usename
      AND a.rolname IN ('ci_app', 'ci_readonly', 'ci_admin')
      AND a.rolcanlogin
      AND NOT a.rolsuper
      AND (a.rolvaliduntil IS NULL OR a.rolvaliduntil > pg_catalog.now())
      AND a.rolpassword LIKE 'SCRAM-SHA-256$%'
$$;
REVOKE ALL ON FUNCTION pgbouncer.get_auth(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO pgbouncer_auth;

-- Part of PgBouncer's server_reset_query in its default (full) mode, run after every
-- transaction: a statement PREPAREd in SQL on a pooled connection can only be a client trying to
-- take over one of PgBouncer's protocol-level statement names (PGBOUNCER_n), so that server
-- connection is closed instead of handed on. SQL, not plpgsql, and no SET clause: it runs after
-- every transaction, and every name in it is qualified.
DROP FUNCTION IF EXISTS pgbouncer.reset_server();
CREATE OR REPLACE FUNCTION pgbouncer.close_if_prepared_in_sql()
RETURNS void
LANGUAGE sql
AS $$
    SELECT pg_catalog.pg_terminate_backend(pg_catalog.pg_backend_pid())
    FROM pg_catalog.pg_prepared_statements
    WHERE from_sql
    LIMIT 1
$$;
REVOKE ALL ON FUNCTION pgbouncer.close_if_prepared_in_sql() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgbouncer.close_if_prepared_in_sql() TO ci_app, ci_readonly, ci_admin, pgbouncer_auth;
